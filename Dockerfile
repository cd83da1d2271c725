FROM python:3.11-slim
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    COPILOT_DATA_DIR=/data COPILOT_HOST=0.0.0.0 COPILOT_PORT=8000
# The CPU build of PyTorch first, so nothing pulls the CUDA packages.
ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_INDEX=""
RUN pip install ${TORCH_INDEX:+--index-url $TORCH_INDEX} "$TORCH_SPEC"
COPY pyproject.toml README.md ./
COPY copilot ./copilot
COPY ingest ./ingest
COPY evals ./evals
RUN pip install .
COPY knowledge ./knowledge
COPY prompts ./prompts
COPY examples ./examples
VOLUME ["/data"]
EXPOSE 8000
# Binding 0.0.0.0 in production requires COPILOT_API_KEYS (the settings refuse otherwise).
CMD ["copilot", "serve"]
