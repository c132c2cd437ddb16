# Two commands on a fresh machine: `make run` and `make test`. Both install what they need.
PORT ?= 8000
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
MANAGE := $(UV) run --frozen python manage.py

.PHONY: run test install lint migrate superuser check-deploy

$(UV):
	python3 -m pip install --user --quiet uv || python3 -m pip install --user --quiet --break-system-packages uv

install: $(UV)
	$(UV) sync --frozen

migrate: install
	$(MANAGE) migrate --noinput

run: migrate
	$(MANAGE) runserver 127.0.0.1:$(PORT)

test: install
	$(UV) run --frozen pytest

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

superuser: migrate
	$(MANAGE) createsuperuser
