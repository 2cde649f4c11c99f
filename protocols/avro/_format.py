"""The two names of the Avro format every scan tests parts against (the payload decoder
and the Kafka dissector): the media type of Avro binary values and the container file
magic. Their own module, under both the package and its codec, so that the codec is not
loaded to read them (protocols/avro/__init__.py)."""

# The media type of a Kafka key or value in Avro binary encoding; `Part.schema` holds the
# writer's schema (JSON text).
AVRO_MEDIA_TYPE = "avro/binary"
# Object container file magic (spec: "Object Container Files").
CONTAINER_MAGIC = b"Obj\x01"
