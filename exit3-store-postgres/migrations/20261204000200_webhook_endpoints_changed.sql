-- Every change of webhook_endpoints is announced (NOTIFY exit3_webhooks_changed, sent at
-- commit), so that each server instance knows whether any endpoint listens for
-- lead.created and can write a create without its event rows when none does. Safe
-- while the previous version serves: a function and a statement trigger, nothing else.
CREATE FUNCTION exit3_webhook_endpoints_changed() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('exit3_webhooks_changed', '');
    RETURN NULL;
END
$fn$;

CREATE TRIGGER webhook_endpoints_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON webhook_endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION exit3_webhook_endpoints_changed();
