-- kakapo's own SQL creating the lease and host tables of Kea's PostgreSQL schema 13.0
-- (Kea 2.2), run by `kakapo db-init` on an empty database. Afterwards kakapo and Kea 2.2
-- (kea-dhcp4/kea-dhcp6 with lease_cmds and host_cmds; kea-admin db-version, lease-dump,
-- lease-upload, stats-recount) can share the database. Table, column, index, constraint,
-- trigger and function names, types, lookup rows and trigger behaviour are those of schema
-- 13.0; the configuration-backend tables (dhcp4_subnet, dhcp4_audit, ...) are not created.

BEGIN;

-- Kea 2.2 reads this row when it opens the database and refuses any version but 13.0.
CREATE TABLE schema_version (
    version INT PRIMARY KEY,
    minor   INT
);
INSERT INTO schema_version VALUES (13, 0);

-- Lookup tables: numeric codes stored in the lease and host rows, with their names.

CREATE TABLE lease_state (
    state BIGINT PRIMARY KEY,
    name  VARCHAR(64) NOT NULL
);
INSERT INTO lease_state VALUES (0, 'default'), (1, 'declined'), (2, 'expired-reclaimed');

CREATE TABLE lease6_types (
    lease_type SMALLINT PRIMARY KEY,
    name       VARCHAR(5)
);
INSERT INTO lease6_types VALUES (0, 'IA_NA'), (1, 'IA_TA'), (2, 'IA_PD');

-- lease6.hwaddr_source holds one of these codes; no foreign key enforces it.
CREATE TABLE lease_hwaddr_source (
    hwaddr_source INT PRIMARY KEY,
    name          VARCHAR(40) DEFAULT NULL
);
INSERT INTO lease_hwaddr_source VALUES
    (0, 'HWADDR_SOURCE_UNKNOWN'), (1, 'HWADDR_SOURCE_RAW'),
    (2, 'HWADDR_SOURCE_IPV6_LINK_LOCAL'), (4, 'HWADDR_SOURCE_DUID'),
    (8, 'HWADDR_SOURCE_CLIENT_ADDR_RELAY_OPTION'), (16, 'HWADDR_SOURCE_REMOTE_ID'),
    (32, 'HWADDR_SOURCE_SUBSCRIBER_ID'), (64, 'HWADDR_SOURCE_DOCSIS_CMTS'),
    (128, 'HWADDR_SOURCE_DOCSIS_MODEM');

CREATE TABLE host_identifier_type (
    type SMALLINT PRIMARY KEY,
    name VARCHAR(32) DEFAULT NULL
);
INSERT INTO host_identifier_type VALUES
    (0, 'hw-address'), (1, 'duid'), (2, 'circuit-id'), (3, 'client-id'), (4, 'flex-id');

-- Host reservation options use scope 3; the others belong to the configuration backend.
CREATE TABLE dhcp_option_scope (
    scope_id   SMALLINT PRIMARY KEY,
    scope_name VARCHAR(32) DEFAULT NULL
);
INSERT INTO dhcp_option_scope VALUES
    (0, 'global'), (1, 'subnet'), (2, 'client-class'), (3, 'host'),
    (4, 'shared-network'), (5, 'pool'), (6, 'pd-pool');

-- Leases. expire is cltt + valid_lifetime; Kea finds a row's version by (address, expire).

CREATE TABLE lease4 (
    address        BIGINT PRIMARY KEY,           -- the IPv4 address as an unsigned number
    hwaddr         BYTEA,
    client_id      BYTEA,
    valid_lifetime BIGINT,
    expire         TIMESTAMP WITH TIME ZONE,
    subnet_id      BIGINT,
    fqdn_fwd       BOOLEAN,
    fqdn_rev       BOOLEAN,
    hostname       VARCHAR(255),
    state          BIGINT DEFAULT 0 CONSTRAINT fk_lease4_state REFERENCES lease_state (state),
    user_context   TEXT                          -- JSON text
);
CREATE INDEX lease4_by_hwaddr_subnet_id ON lease4 (hwaddr, subnet_id);
CREATE INDEX lease4_by_client_id_subnet_id ON lease4 (client_id, subnet_id);
CREATE INDEX lease4_by_state_expire ON lease4 (state, expire);
CREATE INDEX lease4_by_subnet_id ON lease4 (subnet_id);
CREATE INDEX lease4_by_hostname ON lease4 (lower(hostname)) WHERE hostname IS NOT NULL;

CREATE TABLE lease6 (
    address        VARCHAR(39) PRIMARY KEY,      -- textual address, or prefix for IA_PD
    duid           BYTEA,
    valid_lifetime BIGINT,
    expire         TIMESTAMP WITH TIME ZONE,
    subnet_id      BIGINT,
    pref_lifetime  BIGINT,
    lease_type     SMALLINT CONSTRAINT fk_lease6_type REFERENCES lease6_types (lease_type),
    iaid           INT,
    prefix_len     SMALLINT,
    fqdn_fwd       BOOLEAN,
    fqdn_rev       BOOLEAN,
    hostname       VARCHAR(255),
    state          BIGINT DEFAULT 0 CONSTRAINT fk_lease6_state REFERENCES lease_state (state),
    hwaddr         BYTEA,
    hwtype         SMALLINT,
    hwaddr_source  SMALLINT,
    user_context   TEXT
);
CREATE INDEX lease6_by_duid_iaid_subnet_id ON lease6 (duid, iaid, subnet_id);
CREATE INDEX lease6_by_state_expire ON lease6 (state, expire);
CREATE INDEX lease6_by_subnet_id_lease_type ON lease6 (subnet_id, lease_type);
CREATE INDEX lease6_by_hostname ON lease6 (lower(hostname)) WHERE hostname IS NOT NULL;

-- Lease counters kept by the triggers below and read by Kea's statistics queries:
-- per subnet (and type) for states 0 and 1, per client class for state 0 (lease limits).

CREATE TABLE lease4_stat (
    subnet_id BIGINT NOT NULL,
    state     BIGINT NOT NULL,
    leases    BIGINT,
    PRIMARY KEY (subnet_id, state)
);

CREATE TABLE lease6_stat (
    subnet_id  BIGINT NOT NULL,
    lease_type SMALLINT NOT NULL,
    state      BIGINT NOT NULL,
    leases     BIGINT,
    PRIMARY KEY (subnet_id, lease_type, state)
);

CREATE TABLE lease4_stat_by_client_class (
    client_class VARCHAR(128) PRIMARY KEY,
    leases       BIGINT NOT NULL
);

CREATE TABLE lease6_stat_by_client_class (
    client_class VARCHAR(128) NOT NULL,
    lease_type   SMALLINT NOT NULL
        CONSTRAINT fk_lease6_stat_by_client_class_lease_type REFERENCES lease6_types (lease_type),
    leases       BIGINT NOT NULL,
    PRIMARY KEY (client_class, lease_type)
);

-- Written by Kea's forensic logging hook (legal_log) when its database is this one.
CREATE TABLE logs (
    timestamp TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    address   VARCHAR(43),
    log       TEXT NOT NULL
);
CREATE INDEX timestamp_id ON logs (timestamp);
CREATE INDEX address_id ON logs (address);

-- Host reservations. A subnet id of 0 is a global reservation, NULL "not for this family".

CREATE TABLE hosts (
    host_id               SERIAL PRIMARY KEY,
    dhcp_identifier       BYTEA NOT NULL,
    dhcp_identifier_type  SMALLINT NOT NULL CONSTRAINT fk_host_identifier_type
                              REFERENCES host_identifier_type (type) ON DELETE CASCADE,
    dhcp4_subnet_id       BIGINT,
    dhcp6_subnet_id       BIGINT,
    ipv4_address          BIGINT,
    hostname              VARCHAR(255) DEFAULT NULL,
    dhcp4_client_classes  VARCHAR(255) DEFAULT NULL,
    dhcp6_client_classes  VARCHAR(255) DEFAULT NULL,
    dhcp4_next_server     BIGINT,
    dhcp4_server_hostname VARCHAR(64) DEFAULT NULL,
    dhcp4_boot_file_name  VARCHAR(128) DEFAULT NULL,
    user_context          TEXT,
    auth_key              VARCHAR(32) DEFAULT NULL
);
-- One host per identifier and subnet in each family. Addresses are not unique here:
-- with ip-reservations-unique false several hosts may reserve one address.
CREATE UNIQUE INDEX key_dhcp4_identifier_subnet_id
    ON hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id)
    WHERE dhcp4_subnet_id IS NOT NULL;
CREATE UNIQUE INDEX key_dhcp6_identifier_subnet_id
    ON hosts (dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id)
    WHERE dhcp6_subnet_id IS NOT NULL;
CREATE INDEX key_dhcp4_ipv4_address_subnet_id ON hosts (ipv4_address, dhcp4_subnet_id);
CREATE INDEX key_dhcp_identifier ON hosts (dhcp_identifier, dhcp_identifier_type);
CREATE INDEX fk_host_identifier_type ON hosts (dhcp_identifier_type);
CREATE INDEX hosts_by_hostname ON hosts (lower(hostname)) WHERE hostname IS NOT NULL;

-- IPv6 addresses (type 0) and prefixes (type 2) reserved for a host.
CREATE TABLE ipv6_reservations (
    reservation_id SERIAL PRIMARY KEY,
    address        VARCHAR(39) NOT NULL,
    prefix_len     SMALLINT NOT NULL DEFAULT '128',
    type           SMALLINT NOT NULL DEFAULT '0',
    dhcp6_iaid     INT,
    host_id        INT NOT NULL CONSTRAINT fk_ipv6_reservations_host
                       REFERENCES hosts (host_id) ON DELETE CASCADE
);
CREATE INDEX key_dhcp6_address_prefix_len ON ipv6_reservations (address, prefix_len);
CREATE INDEX fk_ipv6_reservations_host_idx ON ipv6_reservations (host_id);

-- Options of host reservations (scope 3). The shared_network_name, pool_id, pd_pool_id and
-- modification_ts columns serve the configuration backend and stay unset for hosts; their
-- foreign keys to its tables are left out with those tables.
CREATE TABLE dhcp4_options (
    option_id           SERIAL PRIMARY KEY,
    code                SMALLINT NOT NULL,
    value               BYTEA,
    formatted_value     TEXT,
    space               VARCHAR(128) DEFAULT NULL,
    persistent          BOOLEAN NOT NULL DEFAULT false,
    dhcp_client_class   VARCHAR(128) DEFAULT NULL,
    dhcp4_subnet_id     BIGINT,
    host_id             INT CONSTRAINT fk_options_host1
                            REFERENCES hosts (host_id) ON DELETE CASCADE,
    scope_id            SMALLINT NOT NULL CONSTRAINT fk_dhcp4_option_scode
                            REFERENCES dhcp_option_scope (scope_id) ON DELETE CASCADE,
    user_context        TEXT,
    shared_network_name VARCHAR(128) DEFAULT NULL,
    pool_id             BIGINT,
    modification_ts     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX fk_dhcp4_options_host1_idx ON dhcp4_options (host_id);
CREATE INDEX fk_dhcp4_options_scope_idx ON dhcp4_options (scope_id);
CREATE INDEX fk_dhcp4_options_subnet ON dhcp4_options (dhcp4_subnet_id);
CREATE INDEX fk_dhcp4_options_shared_network ON dhcp4_options (shared_network_name);
CREATE INDEX fk_dhcp4_options_pool ON dhcp4_options (pool_id);

CREATE TABLE dhcp6_options (
    option_id           SERIAL PRIMARY KEY,
    code                INT NOT NULL,
    value               BYTEA,
    formatted_value     TEXT,
    space               VARCHAR(128) DEFAULT NULL,
    persistent          BOOLEAN NOT NULL DEFAULT false,
    dhcp_client_class   VARCHAR(128) DEFAULT NULL,
    dhcp6_subnet_id     BIGINT,
    host_id             INT CONSTRAINT fk_options_host10
                            REFERENCES hosts (host_id) ON DELETE CASCADE,
    scope_id            SMALLINT NOT NULL CONSTRAINT fk_dhcp6_option_scode
                            REFERENCES dhcp_option_scope (scope_id) ON DELETE CASCADE,
    user_context        TEXT,
    shared_network_name VARCHAR(128) DEFAULT NULL,
    pool_id             BIGINT,
    pd_pool_id          BIGINT,
    modification_ts     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX fk_dhcp6_options_host1_idx ON dhcp6_options (host_id);
CREATE INDEX fk_dhcp6_options_scope_idx ON dhcp6_options (scope_id);
CREATE INDEX fk_dhcp6_options_subnet ON dhcp6_options (dhcp6_subnet_id);
CREATE INDEX fk_dhcp6_options_shared_network ON dhcp6_options (shared_network_name);
CREATE INDEX fk_dhcp6_options_pool ON dhcp6_options (pool_id);
CREATE INDEX fk_dhcp6_options_pd_pool ON dhcp6_options (pd_pool_id);

-- JSON helpers. json_cast reads an empty string as {}; NULL stays NULL.
CREATE FUNCTION json_cast(json_candidate TEXT) RETURNS JSON LANGUAGE plpgsql AS $$
BEGIN
    IF length(json_candidate) = 0 THEN
        RETURN '{}'::json;
    END IF;
    RETURN json_candidate::json;
END $$;

-- Kea asks this before using the lease limit queries; the triggers ask it per row.
CREATE FUNCTION isJsonSupported() RETURNS BOOLEAN LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'json_extract_path');
$$;

-- Per-subnet counters. Only states 0 (default) and 1 (declined) are counted; a decrement
-- never goes below zero and an increment creates the missing row. An update moves a lease
-- only when its subnet, state (or, for IPv6, type) changes; comparisons with NULL do not.

CREATE FUNCTION lease4_AINS_lease4_stat(new_state BIGINT, new_subnet_id BIGINT)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF new_state IN (0, 1) THEN
        INSERT INTO lease4_stat AS s VALUES (new_subnet_id, new_state, 1)
            ON CONFLICT (subnet_id, state) DO UPDATE SET leases = s.leases + 1;
    END IF;
END $$;

CREATE FUNCTION lease4_ADEL_lease4_stat(old_state BIGINT, old_subnet_id BIGINT)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF old_state IN (0, 1) THEN
        UPDATE lease4_stat SET leases = GREATEST(leases - 1, 0)
            WHERE subnet_id = old_subnet_id AND state = old_state;
    END IF;
END $$;

CREATE FUNCTION lease4_AUPD_lease4_stat(old_state BIGINT, old_subnet_id BIGINT,
                                        new_state BIGINT, new_subnet_id BIGINT)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF old_subnet_id <> new_subnet_id OR old_state <> new_state THEN
        PERFORM lease4_ADEL_lease4_stat(old_state, old_subnet_id);
        PERFORM lease4_AINS_lease4_stat(new_state, new_subnet_id);
    END IF;
END $$;

CREATE FUNCTION lease6_AINS_lease6_stat(new_state BIGINT, new_subnet_id BIGINT,
                                        new_lease_type SMALLINT)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF new_state IN (0, 1) THEN
        INSERT INTO lease6_stat AS s VALUES (new_subnet_id, new_lease_type, new_state, 1)
            ON CONFLICT (subnet_id, lease_type, state) DO UPDATE SET leases = s.leases + 1;
    END IF;
END $$;

CREATE FUNCTION lease6_ADEL_lease6_stat(old_state BIGINT, old_subnet_id BIGINT,
                                        old_lease_type SMALLINT)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF old_state IN (0, 1) THEN
        UPDATE lease6_stat SET leases = GREATEST(leases - 1, 0)
            WHERE subnet_id = old_subnet_id AND lease_type = old_lease_type
              AND state = old_state;
    END IF;
END $$;

CREATE FUNCTION lease6_AUPD_lease6_stat(old_state BIGINT, old_subnet_id BIGINT,
                                        old_lease_type SMALLINT, new_state BIGINT,
                                        new_subnet_id BIGINT, new_lease_type SMALLINT)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    IF old_subnet_id <> new_subnet_id OR old_lease_type <> new_lease_type
       OR old_state <> new_state THEN
        PERFORM lease6_ADEL_lease6_stat(old_state, old_subnet_id, old_lease_type);
        PERFORM lease6_AINS_lease6_stat(new_state, new_subnet_id, new_lease_type);
    END IF;
END $$;

-- Per-client-class counters of state-0 leases, from the class names in the lease's
-- user_context ISC.client-classes array. Each element's JSON text, quotes trimmed, is the
-- class name (at most 128 characters with its quotes). An update moves a lease when its
-- state, the text of that array or (IPv6) its type changes.

CREATE FUNCTION lease4_AINS_lease4_stat_by_client_class(new_state BIGINT, new_user_context TEXT)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    cls VARCHAR(128);
BEGIN
    IF new_state = 0 THEN
        FOR cls IN SELECT json_array_elements(json_cast(new_user_context)->'ISC'->'client-classes')
        LOOP
            INSERT INTO lease4_stat_by_client_class AS s VALUES (trim('"' FROM cls), 1)
                ON CONFLICT (client_class) DO UPDATE SET leases = s.leases + 1;
        END LOOP;
    END IF;
END $$;

CREATE FUNCTION lease4_ADEL_lease4_stat_by_client_class(old_state BIGINT, old_user_context TEXT)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    cls VARCHAR(128);
BEGIN
    IF old_state = 0 THEN
        FOR cls IN SELECT json_array_elements(json_cast(old_user_context)->'ISC'->'client-classes')
        LOOP
            UPDATE lease4_stat_by_client_class SET leases = GREATEST(leases - 1, 0)
                WHERE client_class = trim('"' FROM cls);
        END LOOP;
    END IF;
END $$;

CREATE FUNCTION lease4_AUPD_lease4_stat_by_client_class(old_state BIGINT, old_user_context TEXT,
                                                        new_state BIGINT, new_user_context TEXT)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    old_classes TEXT := json_cast(old_user_context)->'ISC'->'client-classes';
    new_classes TEXT := json_cast(new_user_context)->'ISC'->'client-classes';
BEGIN
    IF old_state <> new_state OR old_classes <> new_classes THEN
        PERFORM lease4_ADEL_lease4_stat_by_client_class(old_state, old_user_context);
        PERFORM lease4_AINS_lease4_stat_by_client_class(new_state, new_user_context);
    END IF;
END $$;

CREATE FUNCTION lease6_AINS_lease6_stat_by_client_class(new_state BIGINT, new_user_context TEXT,
                                                        new_lease_type SMALLINT)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    cls VARCHAR(128);
BEGIN
    IF new_state = 0 THEN
        FOR cls IN SELECT json_array_elements(json_cast(new_user_context)->'ISC'->'client-classes')
        LOOP
            INSERT INTO lease6_stat_by_client_class AS s
                VALUES (trim('"' FROM cls), new_lease_type, 1)
                ON CONFLICT (client_class, lease_type) DO UPDATE SET leases = s.leases + 1;
        END LOOP;
    END IF;
END $$;

CREATE FUNCTION lease6_ADEL_lease6_stat_by_client_class(old_state BIGINT, old_user_context TEXT,
                                                        old_lease_type SMALLINT)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    cls VARCHAR(128);
BEGIN
    IF old_state = 0 THEN
        FOR cls IN SELECT json_array_elements(json_cast(old_user_context)->'ISC'->'client-classes')
        LOOP
            UPDATE lease6_stat_by_client_class SET leases = GREATEST(leases - 1, 0)
                WHERE client_class = trim('"' FROM cls) AND lease_type = old_lease_type;
        END LOOP;
    END IF;
END $$;

CREATE FUNCTION lease6_AUPD_lease6_stat_by_client_class(old_state BIGINT, old_user_context TEXT,
                                                        old_lease_type SMALLINT,
                                                        new_state BIGINT, new_user_context TEXT,
                                                        new_lease_type SMALLINT)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    old_classes TEXT := json_cast(old_user_context)->'ISC'->'client-classes';
    new_classes TEXT := json_cast(new_user_context)->'ISC'->'client-classes';
BEGIN
    IF old_state <> new_state OR old_classes <> new_classes
       OR old_lease_type <> new_lease_type THEN
        PERFORM lease6_ADEL_lease6_stat_by_client_class(old_state, old_user_context,
                                                        old_lease_type);
        PERFORM lease6_AINS_lease6_stat_by_client_class(new_state, new_user_context,
                                                        new_lease_type);
    END IF;
END $$;

-- Row triggers on the lease tables: class counters (when JSON is available), then subnet ones.

CREATE FUNCTION func_lease4_AINS() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF isJsonSupported() THEN
        PERFORM lease4_AINS_lease4_stat_by_client_class(NEW.state, NEW.user_context);
    END IF;
    PERFORM lease4_AINS_lease4_stat(NEW.state, NEW.subnet_id);
    RETURN NULL;
END $$;

CREATE FUNCTION func_lease4_AUPD() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF isJsonSupported() THEN
        PERFORM lease4_AUPD_lease4_stat_by_client_class(OLD.state, OLD.user_context,
                                                        NEW.state, NEW.user_context);
    END IF;
    PERFORM lease4_AUPD_lease4_stat(OLD.state, OLD.subnet_id, NEW.state, NEW.subnet_id);
    RETURN NULL;
END $$;

CREATE FUNCTION func_lease4_ADEL() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF isJsonSupported() THEN
        PERFORM lease4_ADEL_lease4_stat_by_client_class(OLD.state, OLD.user_context);
    END IF;
    PERFORM lease4_ADEL_lease4_stat(OLD.state, OLD.subnet_id);
    RETURN NULL;
END $$;

CREATE FUNCTION func_lease6_AINS() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF isJsonSupported() THEN
        PERFORM lease6_AINS_lease6_stat_by_client_class(NEW.state, NEW.user_context,
                                                        NEW.lease_type);
    END IF;
    PERFORM lease6_AINS_lease6_stat(NEW.state, NEW.subnet_id, NEW.lease_type);
    RETURN NULL;
END $$;

CREATE FUNCTION func_lease6_AUPD() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF isJsonSupported() THEN
        PERFORM lease6_AUPD_lease6_stat_by_client_class(OLD.state, OLD.user_context,
                                                        OLD.lease_type, NEW.state,
                                                        NEW.user_context, NEW.lease_type);
    END IF;
    PERFORM lease6_AUPD_lease6_stat(OLD.state, OLD.subnet_id, OLD.lease_type,
                                    NEW.state, NEW.subnet_id, NEW.lease_type);
    RETURN NULL;
END $$;

CREATE FUNCTION func_lease6_ADEL() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF isJsonSupported() THEN
        PERFORM lease6_ADEL_lease6_stat_by_client_class(OLD.state, OLD.user_context,
                                                        OLD.lease_type);
    END IF;
    PERFORM lease6_ADEL_lease6_stat(OLD.state, OLD.subnet_id, OLD.lease_type);
    RETURN NULL;
END $$;

CREATE TRIGGER lease4_AINS AFTER INSERT ON lease4 FOR EACH ROW EXECUTE FUNCTION func_lease4_AINS();
CREATE TRIGGER lease4_AUPD AFTER UPDATE ON lease4 FOR EACH ROW EXECUTE FUNCTION func_lease4_AUPD();
CREATE TRIGGER lease4_ADEL AFTER DELETE ON lease4 FOR EACH ROW EXECUTE FUNCTION func_lease4_ADEL();
CREATE TRIGGER lease6_AINS AFTER INSERT ON lease6 FOR EACH ROW EXECUTE FUNCTION func_lease6_AINS();
CREATE TRIGGER lease6_AUPD AFTER UPDATE ON lease6 FOR EACH ROW EXECUTE FUNCTION func_lease6_AUPD();
CREATE TRIGGER lease6_ADEL AFTER DELETE ON lease6 FOR EACH ROW EXECUTE FUNCTION func_lease6_ADEL();

-- Lease limits (the limits hook): '' when the limits in user_context ISC.limits allow one
-- more lease, otherwise which limit was reached. Class limits are checked before the
-- subnet's, addresses before prefixes; a missing counter row counts as zero.

CREATE FUNCTION checkLease4Limits(user_context TEXT) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    lim   JSON := json_cast(user_context)->'ISC'->'limits';
    c     JSON;
    cname VARCHAR(255);
    sid   INT;
    cap   INT;
    cnt   INT;
BEGIN
    FOR c IN SELECT json_array_elements(lim->'client-classes') LOOP
        cname := trim('"' FROM (c->'name')::text);
        cap := (c->'address-limit')::text::int;
        IF cap IS NOT NULL THEN
            cnt := coalesce((SELECT leases FROM lease4_stat_by_client_class
                             WHERE client_class = cname), 0);
            IF cap <= cnt THEN
                RETURN format('address limit %s for client class "%s", current lease count %s',
                              cap, cname, cnt);
            END IF;
        END IF;
    END LOOP;
    sid := (lim->'subnet'->'id')::text::int;
    cap := (lim->'subnet'->'address-limit')::text::int;
    IF cap IS NOT NULL THEN
        cnt := coalesce((SELECT leases FROM lease4_stat WHERE subnet_id = sid AND state = 0), 0);
        IF cap <= cnt THEN
            RETURN format('address limit %s for subnet ID %s, current lease count %s',
                          cap, sid, cnt);
        END IF;
    END IF;
    RETURN '';
END $$;

CREATE FUNCTION checkLease6Limits(user_context TEXT) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    lim   JSON := json_cast(user_context)->'ISC'->'limits';
    c     JSON;
    cname VARCHAR(255);
    sid   INT;
    cap   INT;
    cnt   INT;
    kind  RECORD;
BEGIN
    FOR c IN SELECT json_array_elements(lim->'client-classes') LOOP
        cname := trim('"' FROM (c->'name')::text);
        FOR kind IN SELECT * FROM (VALUES ('address', 0), ('prefix', 2)) AS k(word, ltype) LOOP
            cap := (c->(kind.word || '-limit'))::text::int;
            IF cap IS NOT NULL THEN
                cnt := coalesce((SELECT leases FROM lease6_stat_by_client_class
                                 WHERE client_class = cname AND lease_type = kind.ltype), 0);
                IF cap <= cnt THEN
                    RETURN format('%s limit %s for client class "%s", current lease count %s',
                                  kind.word, cap, cname, cnt);
                END IF;
            END IF;
        END LOOP;
    END LOOP;
    sid := (lim->'subnet'->'id')::text::int;
    FOR kind IN SELECT * FROM (VALUES ('address', 0), ('prefix', 2)) AS k(word, ltype) LOOP
        cap := (lim->'subnet'->(kind.word || '-limit'))::text::int;
        IF cap IS NOT NULL THEN
            cnt := coalesce((SELECT leases FROM lease6_stat WHERE subnet_id = sid
                             AND lease_type = kind.ltype AND state = 0), 0);
            IF cap <= cnt THEN
                RETURN format('%s limit %s for subnet ID %s, current lease count %s',
                              kind.word, cap, sid, cnt);
            END IF;
        END IF;
    END LOOP;
    RETURN '';
END $$;

-- kea-admin lease-dump and lease-upload: rows in memfile CSV form. Binary fields are
-- lowercase colon-separated hex, booleans 0/1, expire Unix seconds, and commas inside
-- hostname and user_context are written as "&#x2c".

CREATE FUNCTION colonSeparatedHex(hex TEXT) RETURNS TEXT LANGUAGE sql AS $$
    SELECT lower(rtrim(regexp_replace(CASE WHEN length(hex) % 2 = 1 THEN '0' || hex ELSE hex END,
                                      '(..)', '\1:', 'g'), ':'));
$$;

CREATE FUNCTION lease4DumpHeader() RETURNS TEXT LANGUAGE sql AS $$
    SELECT 'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,'
           'hostname,state,user_context'::text;
$$;

CREATE FUNCTION lease4DumpData()
RETURNS TABLE (address INET, hwaddr VARCHAR, client_id VARCHAR, valid_lifetime BIGINT,
               expire BIGINT, subnet_id BIGINT, fqdn_fwd INT, fqdn_rev INT, hostname VARCHAR,
               state BIGINT, user_context VARCHAR)
LANGUAGE sql AS $$
    SELECT '0.0.0.0'::inet + l.address, colonSeparatedHex(encode(l.hwaddr, 'hex')),
           colonSeparatedHex(encode(l.client_id, 'hex')), l.valid_lifetime,
           extract(epoch FROM l.expire)::bigint, l.subnet_id, l.fqdn_fwd::int, l.fqdn_rev::int,
           replace(l.hostname, ',', '&#x2c'), l.state, replace(l.user_context, ',', '&#x2c')
    FROM lease4 l ORDER BY l.address;
$$;

CREATE FUNCTION lease6DumpHeader() RETURNS TEXT LANGUAGE sql AS $$
    SELECT 'address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,'
           'prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,'
           'hwaddr_source'::text;
$$;

CREATE FUNCTION lease6DumpData()
RETURNS TABLE (address VARCHAR, duid VARCHAR, valid_lifetime BIGINT, expire BIGINT,
               subnet_id BIGINT, pref_lifetime BIGINT, lease_type SMALLINT, iaid INT,
               prefix_len SMALLINT, fqdn_fwd INT, fqdn_rev INT, hostname VARCHAR,
               hwaddr VARCHAR, state BIGINT, user_context VARCHAR, hwtype SMALLINT,
               hwaddr_source SMALLINT)
LANGUAGE sql AS $$
    SELECT l.address, colonSeparatedHex(encode(l.duid, 'hex')), l.valid_lifetime,
           extract(epoch FROM l.expire)::bigint, l.subnet_id, l.pref_lifetime, l.lease_type,
           l.iaid, l.prefix_len, l.fqdn_fwd::int, l.fqdn_rev::int,
           replace(l.hostname, ',', '&#x2c'), colonSeparatedHex(encode(l.hwaddr, 'hex')),
           l.state, replace(l.user_context, ',', '&#x2c'), l.hwtype, l.hwaddr_source
    FROM lease6 l ORDER BY l.address;
$$;

-- The arguments are one CSV row of the dump format above, in its column order.
CREATE FUNCTION lease4Upload(address VARCHAR, hwaddr VARCHAR, client_id VARCHAR,
                             valid_lifetime BIGINT, expire BIGINT, subnet_id BIGINT,
                             fqdn_fwd INT, fqdn_rev INT, hostname VARCHAR, state BIGINT,
                             user_context VARCHAR)
RETURNS VOID LANGUAGE sql AS $$
    INSERT INTO lease4 (address, hwaddr, client_id, valid_lifetime, expire, subnet_id,
                        fqdn_fwd, fqdn_rev, hostname, state, user_context)
    VALUES ($1::inet - '0.0.0.0'::inet, decode(replace($2, ':', ''), 'hex'),
            decode(replace($3, ':', ''), 'hex'), $4, to_timestamp($5), $6,
            $7::boolean, $8::boolean, replace($9, '&#x2c', ','), $10,
            replace($11, '&#x2c', ','));
$$;

CREATE FUNCTION lease6Upload(address VARCHAR, duid VARCHAR, valid_lifetime BIGINT,
                             expire BIGINT, subnet_id BIGINT, pref_lifetime BIGINT,
                             lease_type INT, iaid INT, prefix_len INT, fqdn_fwd INT,
                             fqdn_rev INT, hostname VARCHAR, hwaddr VARCHAR, state BIGINT,
                             user_context VARCHAR, hwtype INT, hwaddr_source INT)
RETURNS VOID LANGUAGE sql AS $$
    INSERT INTO lease6 (address, duid, valid_lifetime, expire, subnet_id, pref_lifetime,
                        lease_type, iaid, prefix_len, fqdn_fwd, fqdn_rev, hostname, hwaddr,
                        state, user_context, hwtype, hwaddr_source)
    VALUES ($1, decode(replace($2, ':', ''), 'hex'), $3, to_timestamp($4), $5, $6, $7, $8,
            $9, $10::boolean, $11::boolean, replace($12, '&#x2c', ','),
            decode(replace($13, ':', ''), 'hex'), $14, replace($15, '&#x2c', ','), $16, $17);
$$;

COMMIT;
