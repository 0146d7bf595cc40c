# The Stepwell application image: one image for the API (`stepwell api`) and the workers
# (`stepwell worker`). Step code never runs in it: workers start each step in a fresh container
# on the Docker engine they are pointed at (DOCKER_HOST), see docs/deployment.md.
#
#   docker build -t stepwell:local .

# The web console (console/): built with Node, only its output goes on. The same command as
# `make console`; node_modules and a local build are left out of the context (.dockerignore).
FROM node:20-slim AS console
WORKDIR /src/console
COPY console/package.json console/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY console ./
RUN npm run build

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# A virtualenv copied whole into the runtime stage: the same base image, the same path.
RUN python -m venv /opt/stepwell
WORKDIR /src
COPY pyproject.toml README.md ./
COPY stepwell ./stepwell
COPY stepwell_settings ./stepwell_settings
COPY sandbox ./sandbox
COPY step_sdk ./step_sdk
COPY workflows ./workflows
COPY activities ./activities
COPY ui_api ./ui_api
# the built console ships inside the package (package data), served by `stepwell api` at /
COPY --from=console /src/ui_api/console/static ./ui_api/console/static
# A regular (non-editable) install with the runtime dependencies only: no dev extras; the s3
# extra (boto3) so STEPWELL_BUNDLE_STORE=s3 works in the image too.
RUN /opt/stepwell/bin/pip install '/src[s3]'

FROM python:3.11-slim
ENV PATH=/opt/stepwell/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STEPWELL_HOME=/var/lib/stepwell
COPY --from=build /opt/stepwell /opt/stepwell
# Workers resolve JavaScript steps' npm dependencies with npm on the host side
# (`npm install --package-lock-only --ignore-scripts`: registry metadata only, no package code
# runs here; sandbox/npm_resolve.py). Node and npm come from the console stage's node:20-slim;
# `npm --version` checks at build time that this image can run them.
COPY --from=console /usr/local/bin/node /usr/local/bin/node
COPY --from=console /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && npm --version
# An unprivileged user; the home directory doubles as STEPWELL_HOME (bundles, caches), and a
# named volume mounted there inherits its ownership.
RUN groupadd --system --gid 10001 stepwell \
 && useradd --system --uid 10001 --gid stepwell --home-dir /var/lib/stepwell --create-home \
      --shell /usr/sbin/nologin stepwell
USER stepwell
WORKDIR /var/lib/stepwell
EXPOSE 8000
CMD ["stepwell", "api"]
