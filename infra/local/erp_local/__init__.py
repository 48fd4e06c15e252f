"""erp_local: what stands in for OpenFaaS on one machine (gateway, connectors, scheduler, CLI)."""
