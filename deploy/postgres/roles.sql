-- One least-privilege Postgres role per service, owning its own schema and nothing else; run by a superuser on the
-- service database, again at every deploy (it is idempotent, and sets the passwords it is given: a rotation).
--   psql "$ADMIN_URL" -f deploy/postgres/roles.sql \
--     -v gateway_password=... -v triage_password=... -v reasoner_password=... -v ledger_password=... \
--     -v webhooks_password=... -v audit_password=... -v audit_writer_password=...   [-v prefix=deliberate]
-- Roles are <prefix>_<service> (deliberate_gateway, ...) and <prefix>_audit_writer, which the audit service grants
-- SELECT on its tables and EXECUTE on the functions that append, checkpoint and purge, and nothing else
-- (apps/audit/src/persistence/writer-role.repository.ts). A password left empty means none
-- (for servers that trust local connections). Schemas already built by another role (the superuser, before these
-- roles existed) are handed over with everything in them.
\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;
\if :{?prefix}
\else
  \set prefix deliberate
\endif
\if :{?gateway_password} \else \set gateway_password '' \endif
\if :{?triage_password} \else \set triage_password '' \endif
\if :{?reasoner_password} \else \set reasoner_password '' \endif
\if :{?ledger_password} \else \set ledger_password '' \endif
\if :{?webhooks_password} \else \set webhooks_password '' \endif
\if :{?audit_password} \else \set audit_password '' \endif
\if :{?audit_writer_password} \else \set audit_writer_password '' \endif

-- psql variables do not reach inside a DO block: they go in as settings of this session.
SELECT set_config('deliberate.prefix', :'prefix', false),
       set_config('deliberate.password.gateway', :'gateway_password', false),
       set_config('deliberate.password.triage', :'triage_password', false),
       set_config('deliberate.password.reasoner', :'reasoner_password', false),
       set_config('deliberate.password.ledger', :'ledger_password', false),
       set_config('deliberate.password.webhooks', :'webhooks_password', false),
       set_config('deliberate.password.audit', :'audit_password', false),
       set_config('deliberate.password.audit_writer', :'audit_writer_password', false)
\gset ignored_

-- Roles are cluster-wide: two runs at once (replicas of a one-shot job) take turns.
SELECT pg_advisory_lock(hashtext('deliberate.roles')) AS locked \gset ignored_

DO $roles$
DECLARE
  prefix text := current_setting('deliberate.prefix');
  svc text;
  role text;
  obj record;
BEGIN
  IF prefix !~ '^[a-z_][a-z0-9_]{0,40}$' THEN
    RAISE EXCEPTION 'prefix must be a lower-case identifier, not %', prefix;
  END IF;
  -- Nobody creates objects in public or connects unless granted: each role gets its own database access below.
  EXECUTE 'REVOKE CREATE ON SCHEMA public FROM PUBLIC';
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());

  FOREACH svc IN ARRAY ARRAY['gateway', 'triage', 'reasoner', 'ledger', 'webhooks', 'audit', 'audit_writer'] LOOP
    role := prefix || '_' || svc;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
      EXECUTE format('CREATE ROLE %I', role);
    END IF;
    EXECUTE format(
      'ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
      role, nullif(current_setting('deliberate.password.' || svc), ''));
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), role);
    -- The writer owns nothing: the audit service (its schema's owner) grants it what it may do.
    CONTINUE WHEN svc = 'audit_writer';

    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, role);
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', svc, role);
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc);
    -- Hand over what an earlier owner built in the schema. Sequences of identity and serial columns follow their
    -- table; indexes and triggers too. Functions too: the audit schema's SECURITY DEFINER functions (the writer's
    -- only way to change a chain) must run as the schema's owner, never as the superuser that created them.
    FOR obj IN
      SELECT format('ALTER %s %I.%I OWNER TO %I',
                    CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                   WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                    svc, c.relname, role) AS stmt
        FROM pg_class c
       WHERE c.relnamespace = svc::regnamespace
         AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
         AND c.relowner <> role::regrole
         AND NOT (c.relkind = 'S' AND EXISTS (
               SELECT 1 FROM pg_depend d
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
      UNION ALL
      SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, role)
        FROM pg_proc p
       WHERE p.pronamespace = svc::regnamespace AND p.proowner <> role::regrole
      UNION ALL
      SELECT format('ALTER TYPE %I.%I OWNER TO %I', svc, t.typname, role)
        FROM pg_type t
       WHERE t.typnamespace = svc::regnamespace AND t.typtype IN ('e', 'd')
         AND t.typowner <> role::regrole
    LOOP
      EXECUTE obj.stmt;
    END LOOP;
  END LOOP;
END
$roles$;

SELECT pg_advisory_unlock(hashtext('deliberate.roles')) AS unlocked \gset ignored_
