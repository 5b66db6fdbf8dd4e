"""The domain goes to the action server once, not with every action call (rasa-sdk's domain digest).

Rasa 3.6 sends the whole domain (109 KB of JSON here: every response in English and Chinese) with every custom
action call — two or three a message — and the action server parses it again each time; encoding it was most of
the Rasa process's JSON work (docs/benchmarks.md, the profile). rasa-sdk 3.21 (the action server's) speaks the
protocol later Rasa releases use: a call carries ``domain_digest``; an action server that holds the domain with
that digest uses it, one that does not answers 449 and the caller sends the call again with the domain.

`install_domain_digest()` makes Rasa's custom-action calls do that:

- every call carries ``domain_digest`` (SHA-256 of the domain's canonical JSON, computed once per loaded domain);
- the domain itself is left out once an action server at that URL has accepted a call with it;
- a 449 (a restarted action server, another worker behind the same URL, a new model's domain) is answered by
  the same call with the domain, once; any other error is Rasa's, unchanged.

`RASA_FAST_PATHS=0` leaves Rasa's calls as they were.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Dict, Optional, Set, Text, Tuple

logger = logging.getLogger(__name__)

DIGEST = "domain_digest"
MISSING_DOMAIN = 449  # rasa-sdk: "send the call again with the domain"
_digests: Dict[
    int, Tuple[Any, str]
] = {}  # id(domain dict) -> (the dict, its digest); Domain caches as_dict()
_domains: Dict[str, Dict[str, Any]] = {}  # digest -> domain dict, for a call sent again after a 449
_accepted: Set[Tuple[str, str]] = set()  # (action server url, digest) that took a call with the domain
SENT = {"with_domain": 0, "without_domain": 0, "resent": 0}  # this process's calls (tests, the bench)


def digest_of(domain: Dict[str, Any]) -> str:
    """The domain's digest (remembered per dict: Rasa's Domain returns the same cached dict every call)."""
    known = _digests.get(id(domain))
    if known is not None and known[0] is domain:
        return known[1]
    digest = hashlib.sha256(json.dumps(domain, sort_keys=True, default=str).encode()).hexdigest()
    _digests[id(domain)] = (domain, digest)
    _domains[digest] = domain
    return digest


def call_body(body: Dict[str, Any], url: Optional[Text]) -> Dict[str, Any]:
    """The call Rasa built, with the digest and without the domain once the server at `url` holds it."""
    domain = body.get("domain")
    if not isinstance(domain, dict):
        return body  # no domain to send (Rasa's selective domain left it out)
    digest = digest_of(domain)
    body = {**body, DIGEST: digest}
    if url is not None and (url, digest) in _accepted:
        del body["domain"]
        SENT["without_domain"] += 1
    else:
        SENT["with_domain"] += 1
    return body


def install_domain_digest() -> None:
    """Make Rasa's custom-action calls send the domain once per action server (idempotent)."""
    from rasa.core.actions import action as rasa_action
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig

    RemoteAction = next(cls for cls in rasa_action.RemoteAction.__mro__ if "_action_call_format" in vars(cls))
    original_format = RemoteAction._action_call_format
    if getattr(original_format, "shopdesk_digest", False):
        return
    original_request = EndpointConfig.request

    def _action_call_format(self: Any, tracker: Any, domain: Any) -> Dict[Text, Any]:
        endpoint = self.action_endpoint
        return call_body(original_format(self, tracker, domain), endpoint.url if endpoint else None)

    async def request(self: EndpointConfig, *args: Any, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        if not isinstance(body, dict) or DIGEST not in body:
            return await original_request(self, *args, **kwargs)
        digest = body[DIGEST]
        try:
            answer = await original_request(self, *args, **kwargs)
        except ClientResponseError as error:
            if error.status != MISSING_DOMAIN or "domain" in body or digest not in _domains:
                raise
            logger.debug("action server at %s lacks domain %s: sending it", self.url, digest[:12])
            SENT["resent"] += 1
            answer = await original_request(
                self, *args, **{**kwargs, "json": {**body, "domain": _domains[digest]}}
            )
        if self.url is not None:
            _accepted.add((self.url, digest))
        return answer

    _action_call_format.shopdesk_digest = True  # type: ignore[attr-defined]
    RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]
    EndpointConfig.request = request  # type: ignore[method-assign]
