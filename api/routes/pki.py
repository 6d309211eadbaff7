"""The embedded CA over HTTP: trust anchors, CA certificates, CRLs and OCSP (RFC 6960).

These are the addresses written into certificates (CRL distribution points,
authority information access), so their paths are a published contract.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, Request, Response

from api.access import CallerDep, access
from api.errors import BadRequest
from api.http import read_body
from api.services import Services
from ledger.errors import RecordNotFound
from signing.ca import MalformedRequest, ocsp_malformed_response
from signing.pki import CA_NAMES

router = APIRouter(prefix="/pki", tags=["pki"])

OCSP_REQUEST = "application/ocsp-request"
OCSP_RESPONSE = "application/ocsp-response"


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _ca_name(name: str) -> str:
    if name not in CA_NAMES:
        raise RecordNotFound(f"no CA named {name!r}; known: {', '.join(CA_NAMES)}")
    return name


@router.post("/csr", status_code=202, openapi_extra=access("account"))
async def certificate_request(request: Request, who: CallerDep) -> dict[str, str]:
    """Queue a PKCS#10 request (DER, ``application/pkcs10``) for the school CA's operator.

    Only a logged-in account may queue one (every write needs an account, DESIGN.md §5).
    Nothing is issued automatically: the operator reviews the queue and issues
    with ``socai pki issue``. A malformed or unsigned request gets 400.
    """
    services = _services(request)
    body = await read_body(request, services.request_limit, media_type="application/pkcs10")
    try:
        request_id = services.authority("school").submit_request(body, datetime.now(UTC))
    except MalformedRequest as e:
        raise BadRequest(str(e)) from e
    return {"request": request_id, "status": "pending"}


@router.get("/roots.pem", response_class=Response, openapi_extra=access("public"))
def roots(request: Request) -> Response:
    """The trust anchors, PEM."""
    pem = b"".join(c.public_bytes(Encoding.PEM) for c in _services(request).pki.trust_roots())
    return Response(pem, media_type="application/x-pem-file")


@router.get("/ca/{name}.crt", response_class=Response, openapi_extra=access("public"))
def ca_certificate(name: str, request: Request) -> Response:
    """A CA certificate, DER (RFC 5280 §4.2.2.1 caIssuers)."""
    cert = _services(request).authority(_ca_name(name)).certificate
    return Response(cert.public_bytes(Encoding.DER), media_type="application/pkix-cert")


@router.get("/crl/{name}.crl", response_class=Response, openapi_extra=access("public"))
def crl(name: str, request: Request) -> Response:
    """The CA's CRL, DER (RFC 5280 §5), re-signed at most once a minute."""
    der = _services(request).crl(_ca_name(name))
    return Response(der, media_type="application/pkix-crl", headers={"Cache-Control": "max-age=60"})


def _answer(request: Request, name: str, der: bytes) -> Response:
    ca = _services(request).authority(_ca_name(name))
    try:
        answer = ca.ocsp_respond(der, datetime.now(UTC))
    except MalformedRequest as e:
        raise BadRequest(str(e), ocsp_malformed_response(), OCSP_RESPONSE) from e
    return Response(answer, media_type=OCSP_RESPONSE)


@router.post("/ocsp/{name}", response_class=Response, openapi_extra=access("public"))
async def ocsp_post(name: str, request: Request) -> Response:
    """RFC 6960 Appendix A.1: a DER OCSPRequest in the body."""
    _ca_name(name)
    body = await read_body(request, _services(request).request_limit, media_type=OCSP_REQUEST)
    return _answer(request, name, body)


@router.get("/ocsp/{name}/{encoded:path}", response_class=Response, openapi_extra=access("public"))
def ocsp_get(name: str, encoded: str, request: Request) -> Response:
    """RFC 6960 Appendix A.1: base64 of the DER OCSPRequest, URL-encoded, in the path."""
    if len(encoded) > _services(request).request_limit:
        raise BadRequest("OCSP request too long for a GET")
    try:
        der = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as e:
        raise BadRequest(
            "the path is not base64 of an OCSP request", ocsp_malformed_response(), OCSP_RESPONSE
        ) from e
    return _answer(request, name, der)
