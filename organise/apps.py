from django.apps import AppConfig


class OrganiseConfig(AppConfig):
    name = "organise"
