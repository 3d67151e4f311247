from django.urls import path

from .views import merchant

app_name = "wizard"

urlpatterns = [
    path("", merchant.landing, name="landing"),
    path("start/", merchant.start, name="start"),
    path("case/", merchant.find_case, name="find-case"),
    path("d/<str:code>/", merchant.resume, name="resume"),
    path("d/<str:code>/q/<int:number>/", merchant.step, name="step"),
    path("d/<str:code>/finish/", merchant.finish, name="finish"),
    path("d/<str:code>/result/", merchant.result, name="result"),
]
