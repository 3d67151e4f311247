from django.urls import path

from . import views

app_name = "wizard"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("start/", views.start, name="start"),
    path("case/", views.find_case, name="find-case"),
    path("d/<str:code>/", views.resume, name="resume"),
    path("d/<str:code>/q/<int:number>/", views.step, name="step"),
    path("d/<str:code>/finish/", views.finish, name="finish"),
    path("d/<str:code>/result/", views.result, name="result"),
]
