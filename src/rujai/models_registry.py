"""Import every domain's tables so that ``Base.metadata`` is complete (Alembic, tests)."""

from rujai.apikeys import models as apikeys_models
from rujai.audit import models as audit_models
from rujai.catalog import models as catalog_models
from rujai.consent import models as consent_models
from rujai.disclosures import models as disclosures_models
from rujai.events import models as events_models
from rujai.incidents import models as incidents_models
from rujai.personalize import models as personalize_models
from rujai.profiles import models as profiles_models
from rujai.rights import models as rights_models
from rujai.sessions import models as sessions_models
from rujai.staff import models as staff_models

__all__ = [
    "apikeys_models",
    "audit_models",
    "catalog_models",
    "consent_models",
    "disclosures_models",
    "events_models",
    "incidents_models",
    "personalize_models",
    "profiles_models",
    "rights_models",
    "sessions_models",
    "staff_models",
]
