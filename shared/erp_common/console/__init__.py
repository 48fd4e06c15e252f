"""The back-office console: the pages shop staff work in, served as static files by one function.

Its pages call the other functions through the gateway with the signed-in user's token, so the
console holds no business rule and works unchanged behind the OpenFaaS gateway.
"""
from ..domains import Domain

DOMAIN = Domain("console", "The back-office console: static pages over the other functions")
