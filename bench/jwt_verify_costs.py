"""What verifying an access token costs in process: the first time (a signature), and again.

For each accepted algorithm: ``--tokens`` different tokens, each verified once
(every one a signature check: the cost of a client's first request with a new
token), then one token verified ``--tokens`` times (the remembered verdict: the
cost of every later request). The verifier is the server's (``JwtVerifier``),
its keys served by this process on 127.0.0.1. Never asserts on timing.

Run: ``python -m bench.jwt_verify_costs --tokens 2000``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from api.plumbing.jwt_tokens import VerifiedToken, build_jwt_verifier
from bench.jwt_reads import AUDIENCE, ISSUER, key_set_server
from infrastructure.settings import Settings


def key_pair(algorithm: str) -> tuple[Any, dict[str, Any]]:
    """A new private key for ``algorithm`` and its public JWK (kid ``bench``)."""
    if algorithm == "ES256":
        private: Any = ec.generate_private_key(ec.SECP256R1())
        public = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        public = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return private, {**public, "kid": "bench", "alg": algorithm, "use": "sig"}


def costs(algorithm: str, count: int) -> tuple[float, float]:
    """(µs per first verification, µs per remembered one) with a fresh key for ``algorithm``."""
    private, public_jwk = key_pair(algorithm)
    with key_set_server({"keys": [public_jwk]}) as jwks_url:
        settings = Settings(
            oidc_issuer=ISSUER,
            oidc_audience=AUDIENCE,
            oidc_jwks_url=jwks_url,
            oidc_token_cache_size=count + 1,
        )
        verifier = build_jwt_verifier(settings)
        assert verifier is not None
        verifier.key_set.load()
    now = int(time.time())
    tokens = [
        jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": f"s{n}", "roles": "reader", "exp": now + 600},
            private,
            algorithm,
            headers={"kid": "bench"},
        )
        for n in range(count)
    ]
    started = time.perf_counter()
    for token in tokens:
        assert isinstance(verifier.verify(token), VerifiedToken)
    first = (time.perf_counter() - started) / count * 1e6
    started = time.perf_counter()
    for _ in range(count):
        verifier.verify(tokens[0])
    again = (time.perf_counter() - started) / count * 1e6
    return first, again


def main(argv: list[str] | None = None) -> int:
    """Command line: µs per first and per remembered verification, per algorithm."""
    parser = argparse.ArgumentParser(prog="python -m bench.jwt_verify_costs", description=__doc__)
    parser.add_argument("--tokens", type=int, default=2000)
    arguments = parser.parse_args(argv)
    for algorithm in ("RS256", "PS256", "ES256", "EdDSA"):
        first, again = costs(algorithm, arguments.tokens)
        print(
            f"jwt verify: {algorithm:6} first {first:6.1f} µs (signature), "
            f"again {again:5.1f} µs (remembered)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
