"""`make docker-smoke`: build the Docker image on this machine and remix one song with it, end to end.

Run as ``python -m scripts.docker_smoke`` from the repository root (the Makefile does). The pieces, one job
each: ``engine`` (dockerd and the docker CLI), ``base_image`` (a Debian base when the default cannot be
pulled), ``torch_index`` (the on-disk CPU torch wheel served as a package index on loopback), ``backends``
(Redis, PostgreSQL and SeaweedFS on loopback), ``containers`` (web, worker and beat from the image) and
``roundtrip`` (a generated song through the API and back).
"""
