"""Staff URLs under /admin/."""
from django.urls import path, register_converter
from django.urls.converters import StringConverter

from leads.backoffice import followup_views, privacy
from leads.backoffice import two_factor_views
from leads.backoffice import reset_views, session_views, timeline_views
from leads.backoffice import webhook_views
from leads.backoffice import invitation_views, password_views, preference_views
from leads.backoffice import views as views


class LeadIdConverter(StringConverter):
    """Lead ids are 32 lowercase hex digits; anything else is a 404 before any view runs."""

    regex = "[0-9a-f]{32}"


class StaffEmailConverter(StringConverter):
    """A stored staff email, which may hold "/" (valid in an address's local part): up to the last "@",
    anything; after it, a domain, which never holds "/" (so more path segments could still follow)."""

    regex = r".+@[^/]+"


class PrivacyRequestIdConverter(StringConverter):
    """A privacy request's id (leads.domain.erasure.new_request_id): UTC time, then 8 hex digits."""

    regex = r"[0-9]{8}T[0-9]{12}Z-[0-9a-f]{8}"


class InvitationIdConverter(LeadIdConverter):
    """Invitation keys (leads.domain.invitations.invitation_key) are 32 lowercase hex digits too."""


register_converter(LeadIdConverter, "lead_id")
register_converter(PrivacyRequestIdConverter, "privacy_request_id")
register_converter(InvitationIdConverter, "invitation_id")
register_converter(StaffEmailConverter, "staff_email")

app_name = "backoffice"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password-reset/", reset_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/<str:uidb64>/<str:token>/", reset_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("account/sessions/", session_views.SessionsView.as_view(), name="account_sessions"),
    path("account/sessions/end/", session_views.SessionEndView.as_view(), name="account_session_end"),
    path("account/sessions/end-others/", session_views.SessionsEndOthersView.as_view(),
         name="account_sessions_end_others"),
    path("staff/<staff_email:email>/end-sessions/", session_views.StaffEndSessionsView.as_view(),
         name="staff_end_sessions"),
    path("login/code/", two_factor_views.SignInCodeView.as_view(), name="login_code"),
    path("account/two-factor/", two_factor_views.TwoFactorView.as_view(), name="two_factor"),
    path("account/two-factor/recovery-codes/", two_factor_views.RecoveryCodesView.as_view(),
         name="two_factor_recovery_codes"),
    path("account/two-factor/disable/", two_factor_views.TwoFactorDisableView.as_view(), name="two_factor_disable"),
    path("leads/", views.LeadListView.as_view(), name="lead_list"),
    path("leads/export.csv", views.LeadExportView.as_view(), name="lead_export"),
    path("leads/owners/", views.LeadOwnersView.as_view(), name="lead_owners"),
    path("leads/bulk/", views.LeadBulkView.as_view(), name="lead_bulk"),
    path("leads/deleted/", views.TrashView.as_view(), name="trash"),
    path("leads/<lead_id:lead_id>/", views.LeadDetailView.as_view(), name="lead_detail"),
    path("leads/<lead_id:lead_id>/delete/", views.LeadDeleteView.as_view(), name="lead_delete"),
    path("leads/<lead_id:lead_id>/restore/", views.LeadRestoreView.as_view(), name="lead_restore"),
    path("leads/<lead_id:lead_id>/extend/", views.LeadExtendView.as_view(), name="lead_extend"),
    path("leads/<lead_id:lead_id>/follow-up/", followup_views.LeadFollowUpView.as_view(), name="lead_follow_up"),
    path("follow-ups/today/", followup_views.FollowUpListView.as_view(), name="followups_today"),
    path("follow-ups/overdue/", followup_views.OverdueListView.as_view(), name="followups_overdue"),
    path("leads/<lead_id:lead_id>/notes/", timeline_views.LeadNoteView.as_view(), name="lead_note"),
    path("leads/<lead_id:lead_id>/reply/", timeline_views.LeadReplyView.as_view(), name="lead_reply"),
    path("leads/<lead_id:lead_id>/reply/retry/", timeline_views.LeadReplyRetryView.as_view(), name="lead_reply_retry"),
    path("staff/", views.StaffListView.as_view(), name="staff_list"),
    # One person's data: the address is only ever posted, never part of a URL.
    path("privacy/", privacy.PrivacyView.as_view(), name="privacy"),
    path("privacy/export/", privacy.PrivacyExportView.as_view(), name="privacy_export"),
    path("privacy/erase/", privacy.PrivacyEraseView.as_view(), name="privacy_erase"),
    path("privacy/requests/<privacy_request_id:request_id>/", privacy.PrivacyRequestView.as_view(),
         name="privacy_request"),
    path("staff/<staff_email:email>/", views.StaffEditView.as_view(), name="staff_edit"),
    path("staff/<staff_email:email>/two-factor/reset/", two_factor_views.StaffTwoFactorResetView.as_view(),
         name="staff_two_factor_reset"),
    path("staff/invitations/<invitation_id:invitation_id>/resend/", invitation_views.InvitationResendView.as_view(),
         name="invitation_resend"),
    path("staff/invitations/<invitation_id:invitation_id>/withdraw/", invitation_views.InvitationWithdrawView.as_view(),
         name="invitation_withdraw"),
    path("invitations/<str:token>/", invitation_views.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("account/password/", password_views.PasswordChangeView.as_view(), name="password_change"),
    path("account/preferences/", preference_views.PreferencesView.as_view(), name="account_preferences"),
    path("webhooks/", webhook_views.WebhookFailuresView.as_view(), name="webhooks"),
    path("webhooks/retry/", webhook_views.WebhookRetryView.as_view(), name="webhook_retry"),
]
