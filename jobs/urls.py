from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.upload, name="upload"),
    path("jobs/", views.job_list, name="list"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="detail"),
    path("jobs/<uuid:job_id>/cancel/", views.job_cancel, name="cancel"),
    path("jobs/<uuid:job_id>/remix/", views.job_remix, name="remix"),
    path("jobs/<uuid:job_id>/delete/", views.job_delete, name="delete"),
]
