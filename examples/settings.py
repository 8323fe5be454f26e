"""Settings of the example shop (enough for the linter's static reading)."""

SECRET_KEY = "example-only"
DEBUG = False
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "shop",
]
AUTH_USER_MODEL = "auth.User"
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}}
