# One image, three roles (see README "Production"):
#   web:    default CMD (gunicorn)
#   worker: celery -A numbersadmin worker --loglevel=INFO
#   beat:   celery -A numbersadmin beat --loglevel=INFO -s /tmp/celerybeat-schedule
# Migrations run once per deploy: python manage.py migrate
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY manage.py ./
COPY numbersadmin ./numbersadmin
COPY providers ./providers
COPY templates ./templates
COPY static ./static

# collectstatic needs settings that import cleanly; these build-time values are never used at run time.
RUN DATABASE_URL=postgres://build@localhost/build DJANGO_SECRET_KEY=build-only \
    FIELD_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= STATIC_MANIFEST=1 \
    python manage.py collectstatic --noinput -v0

RUN useradd --system --uid 10001 app && chown -R app /app
USER app
EXPOSE 8000
# gthread: streaming CSV exports hold a thread, not a whole worker.
CMD ["gunicorn", "numbersadmin.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", "--timeout", "300", "--access-logfile", "-"]
