"""MySQL / MariaDB client/server protocol: the dissector in `mysql.py`."""

from protocols.mysql.mysql import MysqlDissector

__all__ = ["MysqlDissector"]
