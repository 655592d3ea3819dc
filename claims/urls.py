from django.urls import path

from . import keeping_up_views, return_views, views

app_name = "claims"
urlpatterns = [
    path("orders/<str:number>/help/", views.get_help, name="get_help"),
    # keeping up (claims.keeping_up): the buyer's claims before the claim's own pages, the notifications, the emails
    path("claims/", keeping_up_views.my_claims, name="my_claims"),
    path("notifications/", keeping_up_views.notifications, name="notifications"),
    path("notifications/read/", keeping_up_views.mark_all_read, name="notifications_read"),
    path("account/email/", keeping_up_views.email_preferences, name="email_preferences"),
    # an email's one-click unsubscribe (claims.unsubscribe): a signed link, no login, POST-able by mail programs
    path("email/unsubscribe/<str:token>/", keeping_up_views.unsubscribe, name="unsubscribe"),
    # before the claim's own pages: a survey link is never read as a claim number
    path("claims/survey/<str:token>/", views.satisfaction_survey, name="satisfaction"),
    path("claims/<str:number>/", views.claim_detail, name="detail"),
    path("claims/<str:number>/message/", views.post_message, name="message"),
    path("claims/<str:number>/info/", views.provide_info, name="provide_info"),
    path("claims/<str:number>/escalate/", views.escalate, name="escalate"),
    path("claims/<str:number>/close/", views.close, name="close"),
    path("claims/<str:number>/warranty-rights/", views.exercise_warranty_rights, name="warranty_rights"),
    path("claims/<str:number>/resolution/", views.resolution, name="resolution"),
    path("claims/<str:number>/expert/", views.request_expert, name="request_expert"),
    path("claims/<str:number>/appeal/", views.appeal, name="appeal"),
    path("claims/<str:number>/offers/<int:offer_id>/accept/", views.accept_offer, name="accept_offer"),
    path("claims/<str:number>/offers/<int:offer_id>/decline/", views.decline_offer, name="decline_offer"),
    path("claims/<str:number>/counter-offer/", views.counter_offer, name="counter_offer"),
    # the return of the goods (claims.returns): the printable slip and the buyer's return tracking
    path("claims/<str:number>/return-slip.pdf", return_views.slip, name="return_slip"),
    path("claims/<str:number>/return-tracking/", return_views.add_tracking, name="return_tracking"),
    path("evidence/<int:pk>/", views.evidence_file, name="evidence"),
    path("evidence/<int:pk>/thumbnail/", views.evidence_file, {"variant": "thumbnail"}, name="evidence_thumbnail"),
]
