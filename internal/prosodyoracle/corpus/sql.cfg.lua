-- Storage drivers per host and store: sql everywhere, sql for some stores,
-- memory or internal elsewhere.
storage = "sql"
sql = { driver = "SQLite3", database = "prosody.sqlite" }

VirtualHost "all-sql.example"
VirtualHost "some-sql.example"
	storage = { roster = "memory", vcard = "sql", private = "sql" }
	default_storage = "internal"
VirtualHost "default-sql.example"
	storage = { roster = "memory" }
	default_storage = "sql"
VirtualHost "no-sql.example"
	storage = "internal"
Component "rooms.example" "muc"
