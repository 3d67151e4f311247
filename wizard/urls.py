from django.contrib.auth import views as auth_views
from django.urls import path

from .views import agent, insights, intake, merchant

app_name = "wizard"

urlpatterns = [
    path("", merchant.landing, name="landing"),
    path("start/", merchant.start, name="start"),
    path("describe/", intake.describe, name="describe"),
    path("case/", merchant.find_case, name="find-case"),
    path("d/<str:code>/", merchant.resume, name="resume"),
    path("d/<str:code>/q/<int:number>/", merchant.step, name="step"),
    path("d/<str:code>/finish/", merchant.finish, name="finish"),
    path("d/<str:code>/result/", merchant.result, name="result"),
    path("d/<str:code>/feedback/", merchant.feedback, name="feedback"),
    path("d/<str:code>/more/", merchant.ask_more, name="more"),
    path("d/<str:code>/escalate/", merchant.escalate, name="escalate"),
    path("d/<str:code>/escalate/<str:reference>/", merchant.escalated, name="escalated"),
    path("d/<str:code>/withdraw/", merchant.withdraw, name="withdraw"),
    path("privacy/", merchant.privacy_notice, name="privacy"),
    path("insights/", insights.dashboard, name="insights"),
    path("agent/", agent.home, name="agent-home"),
    path("agent/login/", agent.AgentLoginView.as_view(), name="agent-login"),
    path("agent/logout/", auth_views.LogoutView.as_view(next_page="wizard:agent-login"), name="agent-logout"),
    path("agent/start/", agent.start, name="agent-start"),
    path("agent/open/", agent.open_case, name="agent-open"),
    path("agent/case/<str:code>/", agent.console, name="agent-case"),
    path("agent/case/<str:code>/answer/<int:number>/", agent.answer, name="agent-answer"),
    path("agent/case/<str:code>/finish/", agent.finish, name="agent-finish"),
    path("agent/case/<str:code>/more/", agent.ask_more, name="agent-more"),
    path("agent/case/<str:code>/notes/", agent.notes, name="agent-notes"),
    path("agent/case/<str:code>/describe/", agent.describe, name="agent-describe"),
    path("agent/case/<str:code>/facts/", agent.confirm_facts, name="agent-facts"),
    path("agent/case/<str:code>/outcome/", agent.outcome, name="agent-outcome"),
    path("agent/case/<str:code>/summary.txt", agent.summary, name="agent-summary"),
    path("agent/case/<str:code>/state/", agent.state, name="agent-state"),
    path("agent/tickets/<str:reference>/", agent.ticket, name="agent-ticket"),
    path("agent/tickets/<str:reference>/status/", agent.ticket_status, name="agent-ticket-status"),
    path("agent/tickets/<str:reference>/withdraw/", agent.ticket_withdraw, name="agent-ticket-withdraw"),
    path("agent/case/<str:code>/personal-data.txt", agent.personal_data, name="agent-personal-data"),
]
