"""Kỹ năng số cộng đồng: the Flask application factory."""

from flask import Flask

from app import compression, errors, i18n, labels, security, static_files
from app.api import tokens as api_tokens
from app.auth import access, sign_ins
from app.config import load_config
from app.extensions import csrf, db, login_manager, migrate


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(load_config(app.instance_path))
    app.config.from_mapping(overrides or {})

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    api_tokens.init_app(app)  # before CSRF and sign-ins: a token's request never reads the cookie
    csrf.init_app(app)
    login_manager.init_app(app)
    sign_ins.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    access.init_app(app)

    _register_blueprints(app)
    errors.init_app(app)
    security.init_app(app)
    static_files.init_app(app)
    compression.init_app(app)
    _register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from app.api.routes import bp as api_bp
    from app.api.token_routes import bp as api_tokens_bp
    from app.audit.routes import bp as audit_bp
    from app.auth.routes import bp as auth_bp
    from app.exchange.export_routes import bp as exports_bp
    from app.exchange.import_routes import bp as imports_bp
    from app.home.routes import bp as home_bp
    from app.households.routes import bp as households_bp
    from app.logbook.routes import bp as logbook_bp
    from app.offline.routes import bp as offline_bp
    from app.opendata.routes import bp as opendata_bp
    from app.progress.routes import bp as progress_bp
    from app.progress.targets import bp as targets_bp
    from app.verification.routes import bp as verification_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(households_bp)
    app.register_blueprint(logbook_bp)
    app.register_blueprint(targets_bp)
    app.register_blueprint(verification_bp)
    app.register_blueprint(progress_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_tokens_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(offline_bp)
    app.register_blueprint(opendata_bp)


def _register_cli(app: Flask) -> None:
    from app.auth.cli import users_cli
    from app.demo.cli import demo_command
    from app.exchange.cli import export_cli
    from app.exchange.import_cli import import_cli
    from app.ops.cli import backup_command
    from app.places.cli import places_cli
    from app.progress.cli import tallies_cli

    app.cli.add_command(places_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(tallies_cli)
    app.cli.add_command(export_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(backup_command)
