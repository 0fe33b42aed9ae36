-- A history store as sleuth 0.1 (schema version 1) wrote it, with one run.
-- Made once by migrations.upgrade(engine, to=1); kept to test the upgrade.
BEGIN TRANSACTION;
CREATE TABLE sleuth_meta (
	"key" VARCHAR(64) NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY ("key")
);
INSERT INTO "sleuth_meta" VALUES('hmac_key','00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
INSERT INTO "sleuth_meta" VALUES('created_at','2026-10-01T07:00:00+00:00');
INSERT INTO "sleuth_meta" VALUES('schema_version','1');
CREATE TABLE sleuth_results (
	run_id INTEGER NOT NULL,
	probe_id TEXT NOT NULL,
	outcome VARCHAR(16) NOT NULL,
	duration_s FLOAT NOT NULL,
	message TEXT NOT NULL,
	evidence TEXT NOT NULL,
	PRIMARY KEY (run_id, probe_id),
	FOREIGN KEY(run_id) REFERENCES sleuth_runs (id)
);
INSERT INTO "sleuth_results" VALUES(1,'test_api.py::test_health','passed',0.01,'','{}');
INSERT INTO "sleuth_results" VALUES(1,'test_api.py::test_items','passed',0.02,'','{}');
CREATE TABLE sleuth_runs (
	id INTEGER NOT NULL,
	target VARCHAR(200) NOT NULL,
	base_url TEXT,
	agent VARCHAR(200) NOT NULL,
	started_at DATETIME NOT NULL,
	duration_s FLOAT NOT NULL,
	sleuth_version VARCHAR(64) NOT NULL,
	git_revision VARCHAR(64),
	exit_status INTEGER NOT NULL,
	selection TEXT NOT NULL,
	PRIMARY KEY (id)
);
INSERT INTO "sleuth_runs" VALUES(1,'local','http://127.0.0.1:1','old-agent','2026-10-01 07:55:00.000000',0.5,'0.0.9',NULL,0,'[]');
CREATE TABLE sleuth_settings (
	run_id INTEGER NOT NULL,
	name VARCHAR(255) NOT NULL,
	source TEXT,
	state VARCHAR(16) NOT NULL,
	fingerprint VARCHAR(64),
	PRIMARY KEY (run_id, name),
	FOREIGN KEY(run_id) REFERENCES sleuth_runs (id)
);
INSERT INTO "sleuth_settings" VALUES(1,'FEATURE_FLAG_X','environment','present','aa');
COMMIT;
