FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mstrack mstrack
COPY patients patients
COPY monitoring monitoring
COPY alerts alerts
COPY templates templates
COPY manage.py ./
RUN pip install --no-cache-dir . && useradd --create-home mstrack && chown -R mstrack /app
USER mstrack
EXPOSE 8000
