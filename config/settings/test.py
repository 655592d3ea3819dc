from .base import *  # noqa: F403
from .base import BASE_DIR, celery_broker, env

DEBUG = False
SECRET_KEY = "test-only-not-secret"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / ".test-media"

# Tasks run inline in tests. The integration tests start a real Celery worker in another process with
# CELERY_TEST_BROKER_URL pointing at Redis and the file email backend, so these read the environment.
vars().update(celery_broker(env.str("CELERY_TEST_BROKER_URL", default="memory://")))
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TEST_EAGER", default=True)
EMAIL_BACKEND = env.str("TEST_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env.str("TEST_EMAIL_FILE_PATH", default=str(BASE_DIR / ".test-mail"))
# No collectstatic before the tests: WhiteNoise looks for a file when it is asked for (and finds none: the test
# server serves static files itself) instead of reading a missing STATIC_ROOT at start and warning about it.
WHITENOISE_AUTOREFRESH = True
