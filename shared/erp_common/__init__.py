"""erp_common: the shared layer every ERP function runs on.

The platform core (config, db, http, auth, events, cache, errors, idempotency) sits at the top
level; each business domain (identity, catalog, ...) is a sub-package with its models, schemas,
services and the operations it declares.
"""
