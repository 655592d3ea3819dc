import datetime as dt

from django.urls import path, register_converter

from . import integrations, views


class MonthConverter:
    """YYYY-MM in a URL, as the first day of that month."""

    regex = r"[0-9]{4}-(?:0[1-9]|1[0-2])"

    def to_python(self, value: str) -> dt.date:
        return dt.date(int(value[:4]), int(value[5:7]), 1)

    def to_url(self, value: dt.date | str) -> str:
        return value.strftime("%Y-%m") if isinstance(value, dt.date) else str(value)


register_converter(MonthConverter, "month")

app_name = "sellers"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("performance/", views.performance, name="performance"),
    path("statements/", views.statements, name="statements"),
    path("statements/<month:month>/", views.statement, name="statement"),
    path("statements/<month:month>.csv", views.statement_csv, name="statement_csv"),
    path("claims.csv", views.claims_csv, name="claims_csv"),
    path("replies/", views.canned_replies, name="canned_replies"),
    path("replies/add/", views.canned_reply_add, name="canned_reply_add"),
    path("replies/<int:reply_id>/", views.canned_reply_edit, name="canned_reply_edit"),
    path("replies/<int:reply_id>/delete/", views.canned_reply_delete, name="canned_reply_delete"),
    # the shop's API keys and webhook endpoints with their delivery log: its owner's (claims.seller.integrations)
    path("api-keys/", integrations.api_keys, name="api_keys"),
    path("api-keys/add/", integrations.api_key_add, name="api_key_add"),
    path("api-keys/<int:key_id>/revoke/", integrations.api_key_revoke, name="api_key_revoke"),
    path("webhooks/", integrations.webhooks, name="webhooks"),
    path("webhooks/add/", integrations.webhook_add, name="webhook_add"),
    path("webhooks/<int:endpoint_id>/", integrations.webhook_edit, name="webhook_edit"),
    path("webhooks/<int:endpoint_id>/rotate/", integrations.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:endpoint_id>/toggle/", integrations.webhook_toggle, name="webhook_toggle"),
    path("webhooks/<int:endpoint_id>/delete/", integrations.webhook_delete, name="webhook_delete"),
    path("webhooks/<int:endpoint_id>/deliveries/", integrations.webhook_deliveries, name="webhook_deliveries"),
    path("webhooks/deliveries/<int:delivery_id>/", integrations.webhook_delivery, name="webhook_delivery"),
    path("webhooks/deliveries/<int:delivery_id>/redeliver/", integrations.webhook_redeliver,
         name="webhook_redeliver"),
    path("claims/<str:number>/", views.claim_detail, name="claim"),
    path("claims/<str:number>/reply/", views.reply, name="reply"),
    path("claims/<str:number>/offer/", views.make_offer, name="offer"),
    path("claims/<str:number>/offers/<int:offer_id>/withdraw/", views.withdraw_offer, name="withdraw_offer"),
    path("claims/<str:number>/offers/<int:offer_id>/accept/", views.accept_counter_offer, name="accept_counter_offer"),
    path("claims/<str:number>/offers/<int:offer_id>/decline/", views.decline_counter_offer,
         name="decline_counter_offer"),
    path("claims/<str:number>/reject/", views.reject, name="reject"),
    path("claims/<str:number>/defect/", views.classify_defect, name="classify_defect"),
    path("claims/<str:number>/tracking/", views.add_tracking, name="tracking"),
    path("claims/<str:number>/return-received/", views.receive_return, name="return_received"),
    path("claims/<str:number>/info/", views.provide_info, name="provide_info"),
    path("claims/<str:number>/expert/", views.start_expert, name="start_expert"),
    path("claims/<str:number>/expert/result/", views.conclude_expert, name="conclude_expert"),
    path("claims/<str:number>/resolution/", views.resolution, name="resolution"),
    path("claims/<str:number>/goods-received/", views.confirm_goods_received, name="goods_received"),
    path("claims/<str:number>/collected/", views.record_collection, name="collected"),
    path("claims/<str:number>/appeal/", views.appeal, name="appeal"),
]
