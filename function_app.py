"""Composition root: the Durable Functions app and the blueprints it serves. Nothing else."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from triggers.http_api import bp as http_api_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (http_api_bp,):
    app.register_functions(blueprint)
