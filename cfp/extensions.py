"""Flask extensions, created unbound; `create_app` binds them."""
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Database(SQLAlchemy):
    """Flask-SQLAlchemy, whose `paginate` reads `?page=` and `?per_page=` as whole
    numbers an offset can hold: a huge, negative or garbage page answers 404
    instead of reaching the database driver as an overflowing OFFSET."""

    def paginate(self, select, *, page=None, per_page=None, max_per_page=None, **kwargs):
        from cfp.core.params import page_arguments

        page, per_page = page_arguments(page, per_page, max_per_page)
        return super().paginate(select, page=page, per_page=per_page,
                                max_per_page=max_per_page, **kwargs)


db = Database(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
