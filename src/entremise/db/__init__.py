"""Database: engine set-up (SQLite and PostgreSQL), declarative base, migrations."""
