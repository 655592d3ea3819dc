from django.urls import path

from . import views

app_name = "sellers"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("performance/", views.performance, name="performance"),
    path("claims/<str:number>/", views.claim_detail, name="claim"),
    path("claims/<str:number>/reply/", views.reply, name="reply"),
    path("claims/<str:number>/offer/", views.make_offer, name="offer"),
    path("claims/<str:number>/offers/<int:offer_id>/withdraw/", views.withdraw_offer, name="withdraw_offer"),
    path("claims/<str:number>/reject/", views.reject, name="reject"),
    path("claims/<str:number>/tracking/", views.add_tracking, name="tracking"),
    path("claims/<str:number>/return-received/", views.receive_return, name="return_received"),
    path("claims/<str:number>/info/", views.provide_info, name="provide_info"),
]
