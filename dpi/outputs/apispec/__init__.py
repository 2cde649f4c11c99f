"""API documents from traffic (`dpi spec`): OpenAPI 3.1 for HTTP and gRPC, AsyncAPI 3.0
for Kafka, with the inventory's data classes on every sensitive property.

`observer` gathers shapes during a scan, `shapes` infers JSON Schema from values in
bounded memory, `annotations` joins shapes with inventory rows, `enums` vets enum
values, `openapi` and `asyncapi` write the documents, `command` is the CLI glue.
"""
