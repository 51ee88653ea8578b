// Generated from the service's OpenAPI document by scripts/generate.mjs: do not edit.
// `npm run generate` after changing the API; the tests fail while this file is stale.
export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Process is up
         * @description Always 200 while the process serves requests.
         */
        get: operations["healthz_healthz_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/livez": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Process is alive
         * @description Always 200 while the process serves requests (liveness: no dependency is asked).
         */
        get: operations["livez_livez_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics
         * @description The service's metrics; Bearer METRICS_TOKEN (or use METRICS_PORT).
         */
        get: operations["get_metrics_metrics_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Database is reachable
         * @description 200 when the database answers (each dependency in `checks`), else 503 in the envelope.
         */
        get: operations["readyz_readyz_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/api-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List API Keys
         * @description The org's live keys (not revoked, not expired), newest first, with keyset pagination.
         */
        get: operations["list_api_keys_v1_orgs__org_id__api_keys_get"];
        put?: never;
        /**
         * Create API Key
         * @description Mint a key; its `secret` is in this response only (only its hash is stored).
         */
        post: operations["create_api_key_v1_orgs__org_id__api_keys_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/api-keys/{key_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get API Key
         * @description One live key of the org (without its secret).
         */
        get: operations["get_api_key_v1_orgs__org_id__api_keys__key_id__get"];
        put?: never;
        post?: never;
        /**
         * Revoke API Key
         * @description Revoke a live key; unknown, already revoked, expired or another org's is 404.
         */
        delete: operations["revoke_api_key_v1_orgs__org_id__api_keys__key_id__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/webhooks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Webhooks
         * @description The org's endpoints, newest first, with keyset pagination.
         */
        get: operations["list_webhooks_v1_orgs__org_id__webhooks_get"];
        put?: never;
        /**
         * Create Webhook
         * @description Add an endpoint; its signing `secret` is in this response only.
         */
        post: operations["create_webhook_v1_orgs__org_id__webhooks_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/webhooks/{webhook_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get Webhook
         * @description One endpoint of the org (without its secret).
         */
        get: operations["get_webhook_v1_orgs__org_id__webhooks__webhook_id__get"];
        /**
         * Replace Webhook
         * @description Replace an endpoint's settings (omitted fields take their defaults).
         */
        put: operations["replace_webhook_v1_orgs__org_id__webhooks__webhook_id__put"];
        post?: never;
        /**
         * Delete Webhook
         * @description Delete an endpoint; nothing more is sent to it.
         */
        delete: operations["delete_webhook_v1_orgs__org_id__webhooks__webhook_id__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/webhooks/{webhook_id}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Deliveries
         * @description The endpoint's deliveries with their attempts, newest first, with keyset pagination.
         */
        get: operations["list_deliveries_v1_orgs__org_id__webhooks__webhook_id__deliveries_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Retry Delivery
         * @description Deliver again now, with a fresh retry schedule.
         */
        post: operations["retry_delivery_v1_orgs__org_id__webhooks__webhook_id__deliveries__delivery_id__retry_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/webhooks/{webhook_id}/rotate-secret": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate Secret
         * @description A new signing secret; the old one signs alongside it for 24 hours.
         */
        post: operations["rotate_secret_v1_orgs__org_id__webhooks__webhook_id__rotate_secret_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/webhooks/{webhook_id}/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send Test Event
         * @description Queue a `webhook.test` event to the endpoint; follow it in the deliveries list.
         */
        post: operations["send_test_v1_orgs__org_id__webhooks__webhook_id__test_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/workspaces": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Workspaces
         * @description List the org's workspaces, newest first, with keyset pagination.
         */
        get: operations["list_workspaces_v1_orgs__org_id__workspaces_get"];
        put?: never;
        /**
         * Create Workspace
         * @description Create a workspace; its bucket is provisioned in the background (`pending`).
         */
        post: operations["create_workspace_v1_orgs__org_id__workspaces_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/workspaces/{workspace_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get Workspace
         * @description One workspace, with its ETag.
         */
        get: operations["get_workspace_v1_orgs__org_id__workspaces__workspace_id__get"];
        /**
         * Update Workspace
         * @description Change the fields sent; `region` cannot change.
         */
        put: operations["update_workspace_v1_orgs__org_id__workspaces__workspace_id__put"];
        post?: never;
        /**
         * Delete Workspace
         * @description Delete a workspace; its bucket is removed in the background.
         */
        delete: operations["delete_workspace_v1_orgs__org_id__workspaces__workspace_id__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/workspaces/{workspace_id}/sync/presence": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Present Members
         * @description Who is present (one entry per user, with their open streams and viewed resource).
         */
        get: operations["presence_list_v1_orgs__org_id__workspaces__workspace_id__sync_presence_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/workspaces/{workspace_id}/sync/presence/join": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Announce Presence Join
         * @description The caller is present (refreshes the presence TTL).
         */
        post: operations["presence_join_v1_orgs__org_id__workspaces__workspace_id__sync_presence_join_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/workspaces/{workspace_id}/sync/presence/leave": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Announce Presence Leave
         * @description The caller leaves (a quiet no-op if they were not present).
         */
        post: operations["presence_leave_v1_orgs__org_id__workspaces__workspace_id__sync_presence_leave_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/workspaces/{workspace_id}/sync/presence/viewing": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Announce Presence Viewing
         * @description The caller views a resource of the workspace (and is present).
         */
        post: operations["presence_viewing_v1_orgs__org_id__workspaces__workspace_id__sync_presence_viewing_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/workspaces/{workspace_id}/sync/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Stream Workspace Events
         * @description Live events of the workspace as Server-Sent Events, resumable with Last-Event-ID.
         */
        get: operations["stream_events_v1_orgs__org_id__workspaces__workspace_id__sync_stream_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org_id}/workspaces/{workspace_id}/sync/tickets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create Stream Ticket
         * @description A short-lived ticket that opens this workspace's stream: no long-lived secret in a URL.
         *
         *     It carries the caller and the credential it was made from: it stops working when that
         *     key is revoked or expires, and the streams it opened end then (`sync.unauthorized`).
         */
        post: operations["create_stream_ticket_v1_orgs__org_id__workspaces__workspace_id__sync_tickets_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * ApiKeyCreate
         * @description Body of `POST /v1/orgs/{org_id}/api-keys`.
         */
        ApiKeyCreate: {
            /** Expires At */
            expires_at?: string | null;
            /**
             * Name
             * @description A label to recognise the key by (1-200 characters)
             */
            name: string;
            /** @description An owner key can be minted only by an owner */
            role: components["schemas"]["Role"];
            /**
             * User Id
             * @description The user the key acts as; defaults to the caller
             */
            user_id?: string | null;
        };
        /**
         * ApiKeyCreated
         * @description The create response: the key, and its secret, shown this once and never again.
         */
        ApiKeyCreated: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Expires At */
            expires_at: string | null;
            /** Id */
            id: string;
            /**
             * Last Used At
             * @description When it last authenticated, written about once a minute
             */
            last_used_at: string | null;
            /**
             * Name
             * @description '' for keys made without one (the CLI)
             */
            name: string;
            role: components["schemas"]["Role"];
            /**
             * Secret
             * @description The bearer token; store it now, it is not kept
             * @example mm_...
             */
            secret: string;
            /** User Id */
            user_id: string;
        };
        /**
         * ApiKeyList
         * @description One page of `GET /v1/orgs/{org_id}/api-keys`: live keys, newest first.
         */
        ApiKeyList: {
            /** Api Keys */
            api_keys: components["schemas"]["ApiKeyRead"][];
            /** Has More */
            has_more: boolean;
            /** Next Cursor */
            next_cursor: string | null;
            /** Total */
            total: number;
        };
        /**
         * ApiKeyRead
         * @description An API key as the list and get return it: never its secret.
         */
        ApiKeyRead: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Expires At */
            expires_at: string | null;
            /** Id */
            id: string;
            /**
             * Last Used At
             * @description When it last authenticated, written about once a minute
             */
            last_used_at: string | null;
            /**
             * Name
             * @description '' for keys made without one (the CLI)
             */
            name: string;
            role: components["schemas"]["Role"];
            /** User Id */
            user_id: string;
        };
        /**
         * AttemptRead
         * @description One HTTP attempt of a delivery.
         */
        AttemptRead: {
            /**
             * Attempted At
             * Format: date-time
             */
            attempted_at: string;
            /** Duration Ms */
            duration_ms: number;
            /** Error */
            error: string | null;
            /**
             * Status Code
             * @description None: no HTTP answer (network, timeout)
             */
            status_code: number | null;
        };
        /**
         * BucketStatus
         * @enum {string}
         */
        BucketStatus: "pending" | "provisioning" | "active" | "failed" | "deleting";
        /**
         * DeliveryList
         * @description One page of an endpoint's deliveries, newest first.
         */
        DeliveryList: {
            /** Deliveries */
            deliveries: components["schemas"]["DeliveryRead"][];
            /** Has More */
            has_more: boolean;
            /** Next Cursor */
            next_cursor: string | null;
        };
        /**
         * DeliveryRead
         * @description One event's delivery to one endpoint.
         */
        DeliveryRead: {
            /** Attempts */
            attempts: components["schemas"]["AttemptRead"][];
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Event Id */
            event_id: string | null;
            /** Event Type */
            event_type: string;
            /** Id */
            id: string;
            /** Last Error */
            last_error: string | null;
            /**
             * Message Id
             * @description The `webhook-id` header, the same on every attempt
             */
            message_id: string;
            /** Next Attempt At */
            next_attempt_at: string | null;
            /**
             * Status
             * @enum {string}
             */
            status: "pending" | "delivering" | "succeeded" | "failed";
            /** Webhook Id */
            webhook_id: string;
        };
        /**
         * ErrorBody
         * @description The reference's error envelope.
         */
        ErrorBody: {
            /** Details */
            details?: {
                [key: string]: unknown;
            };
            /**
             * Error
             * @example RESOURCE_NOT_FOUND
             */
            error: string;
            /** Message */
            message: string;
            /** Status Code */
            status_code: number;
            /**
             * Timestamp
             * @example 2025-01-01T00:00:00.000000
             */
            timestamp: string;
        };
        /** HTTPValidationError */
        HTTPValidationError: {
            /** Detail */
            detail?: components["schemas"]["ValidationError"][];
        };
        /**
         * MessageResponse
         * @description Body of a successful delete.
         */
        MessageResponse: {
            /** Message */
            message: string;
        };
        /**
         * PresenceList
         * @description The members present in a workspace.
         */
        PresenceList: {
            /** Members */
            members: components["schemas"]["PresenceMember"][];
        };
        /**
         * PresenceMember
         * @description One present user, however many tabs they have open.
         */
        PresenceMember: {
            /**
             * Connections
             * @description Open event streams of this user on the workspace
             */
            connections: number;
            /**
             * Since
             * Format: date-time
             * @description When the user joined
             */
            since: string;
            /** User Id */
            user_id: string;
            viewing: components["schemas"]["ViewedResource"] | null;
        };
        /**
         * Role
         * @enum {string}
         */
        Role: "owner" | "admin" | "member" | "viewer";
        /**
         * SecretRotated
         * @description A new signing secret; the previous one signs alongside it until `previous_valid_until`.
         */
        SecretRotated: {
            /**
             * Previous Valid Until
             * Format: date-time
             */
            previous_valid_until: string;
            /**
             * Secret
             * @example whsec_...
             */
            secret: string;
        };
        /**
         * StreamTicket
         * @description Opens this workspace's stream (and reopens it) until `expires_at`: `?ticket=`.
         */
        StreamTicket: {
            /**
             * Expires At
             * Format: date-time
             * @description Until when the ticket opens the stream
             */
            expires_at: string;
            /**
             * Stream Url
             * @description The stream's path with the ticket, for `new EventSource(stream_url)`
             */
            stream_url: string;
            /**
             * Ticket
             * @description Secret: put it only in the stream's URL
             */
            ticket: string;
        };
        /** ValidationError */
        ValidationError: {
            /** Context */
            ctx?: Record<string, never>;
            /** Input */
            input?: unknown;
            /** Location */
            loc: (string | number)[];
            /** Message */
            msg: string;
            /** Error Type */
            type: string;
        };
        /**
         * ViewedResource
         * @description What a member is looking at.
         */
        ViewedResource: {
            /**
             * Resource Id
             * @example doc-42
             */
            resource_id: string;
            /**
             * Resource Type
             * @example document
             */
            resource_type: string;
        };
        /**
         * WebhookCreated
         * @description The create response: the endpoint and its signing secret, shown this once.
         */
        WebhookCreated: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Description */
            description: string;
            /**
             * Disabled Reason
             * @description Why the service disabled it, if it did
             */
            disabled_reason: string | null;
            /** Enabled */
            enabled: boolean;
            /** Event Types */
            event_types: string[];
            /** Id */
            id: string;
            /**
             * Secret
             * @description Verify signatures with it
             * @example whsec_...
             */
            secret: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            /** Url */
            url: string;
        };
        /**
         * WebhookList
         * @description One page of the org's endpoints, newest first.
         */
        WebhookList: {
            /** Has More */
            has_more: boolean;
            /** Next Cursor */
            next_cursor: string | null;
            /** Webhooks */
            webhooks: components["schemas"]["WebhookRead"][];
        };
        /**
         * WebhookRead
         * @description An endpoint (never its secret).
         */
        WebhookRead: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Description */
            description: string;
            /**
             * Disabled Reason
             * @description Why the service disabled it, if it did
             */
            disabled_reason: string | null;
            /** Enabled */
            enabled: boolean;
            /** Event Types */
            event_types: string[];
            /** Id */
            id: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            /** Url */
            url: string;
        };
        /**
         * WebhookWrite
         * @description Body of the create (`POST`) and the replace (`PUT`): omitted fields take defaults.
         */
        WebhookWrite: {
            /**
             * Description
             * @default
             */
            description: string;
            /**
             * Enabled
             * @default true
             */
            enabled: boolean;
            /**
             * Event Types
             * @description Exact event types or prefixes (`workspace.*`, `presence.*`); `*`: all
             */
            event_types?: string[];
            /**
             * Url
             * @description https; must not resolve to a private or loopback address
             */
            url: string;
        };
        /**
         * WorkspaceCreate
         * @description Body of `POST /v1/orgs/{org_id}/workspaces`.
         */
        WorkspaceCreate: {
            /** Description */
            description?: string | null;
            /**
             * Is Active
             * @default true
             */
            is_active: boolean;
            /** Name */
            name: string;
            /**
             * Organization Id
             * @description If given, must equal the org_id in the path
             */
            organization_id?: string | null;
            /**
             * Region
             * @description AWS region code; defaults to the server's DEFAULT_REGION
             */
            region?: string | null;
            /** Subscription Plan Id */
            subscription_plan_id?: string | null;
            /** Tags */
            tags?: string[];
        };
        /**
         * WorkspaceList
         * @description One page of `GET /v1/orgs/{org_id}/workspaces`.
         */
        WorkspaceList: {
            /** Has More */
            has_more: boolean;
            /** Next Cursor */
            next_cursor: string | null;
            /** Total */
            total: number;
            /** Workspaces */
            workspaces: components["schemas"]["WorkspaceRead"][];
        };
        /**
         * WorkspaceRead
         * @description A workspace as every endpoint returns it.
         */
        WorkspaceRead: {
            /**
             * Bucket Error
             * @description Last provisioning error while bucket_status is failed
             */
            bucket_error?: string | null;
            bucket_status: components["schemas"]["BucketStatus"];
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Description */
            description: string | null;
            /** Is Active */
            is_active: boolean;
            /** Name */
            name: string;
            /** Owner Id */
            owner_id: string;
            /**
             * Region
             * @example us-east-1
             */
            region: string;
            /** S3 Bucket */
            s3_bucket: string;
            /** Subscription Plan Id */
            subscription_plan_id: string | null;
            /** Tags */
            tags: string[];
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            /** Workspace Id */
            workspace_id: string;
        };
        /**
         * WorkspaceUpdate
         * @description Body of `PUT /v1/orgs/{org_id}/workspaces/{workspace_id}`: only the fields sent change.
         */
        WorkspaceUpdate: {
            /** Description */
            description?: string | null;
            /** Is Active */
            is_active?: boolean;
            /** Name */
            name?: string;
            /**
             * Region
             * @description Cannot change once set
             */
            region?: string;
            /** Subscription Plan Id */
            subscription_plan_id?: string | null;
            /** Tags */
            tags?: string[];
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    healthz_healthz_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
        };
    };
    livez_livez_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
        };
    };
    get_metrics_metrics_get: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <METRICS_TOKEN>` */
                authorization?: string | null;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The Prometheus text format */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                    "text/plain": string;
                };
            };
            /** @description Not the configured METRICS_TOKEN */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description METRICS_TOKEN is not configured */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    readyz_readyz_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
        };
    };
    list_api_keys_v1_orgs__org_id__api_keys_get: {
        parameters: {
            query?: {
                /** @description Cursor for pagination (from previous response's next_cursor) */
                cursor?: string | null;
                /** @description Maximum number of items to return (1-200) */
                limit?: number;
            };
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyList"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_api_key_v1_orgs__org_id__api_keys_post: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ApiKeyCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyCreated"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get_api_key_v1_orgs__org_id__api_keys__key_id__get: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                /** @description The key's id (from its create response or the list) */
                key_id: string;
                org_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyRead"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    revoke_api_key_v1_orgs__org_id__api_keys__key_id__delete: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                /** @description The key's id (from its create response or the list) */
                key_id: string;
                org_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Revoked: the key no longer authenticates */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_webhooks_v1_orgs__org_id__webhooks_get: {
        parameters: {
            query?: {
                /** @description From the previous page's next_cursor */
                cursor?: string | null;
                /** @description Maximum number of items (1-200) */
                limit?: number;
            };
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookList"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_webhook_v1_orgs__org_id__webhooks_post: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WebhookWrite"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookCreated"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get_webhook_v1_orgs__org_id__webhooks__webhook_id__get: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                webhook_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookRead"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    replace_webhook_v1_orgs__org_id__webhooks__webhook_id__put: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                webhook_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WebhookWrite"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookRead"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_webhook_v1_orgs__org_id__webhooks__webhook_id__delete: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                webhook_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted, with its deliveries */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_deliveries_v1_orgs__org_id__webhooks__webhook_id__deliveries_get: {
        parameters: {
            query?: {
                /** @description From the previous page's next_cursor */
                cursor?: string | null;
                /** @description Maximum number of items (1-200) */
                limit?: number;
            };
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                webhook_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeliveryList"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    retry_delivery_v1_orgs__org_id__webhooks__webhook_id__deliveries__delivery_id__retry_post: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                delivery_id: string;
                org_id: string;
                webhook_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeliveryRead"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description An attempt of the delivery is running */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    rotate_secret_v1_orgs__org_id__webhooks__webhook_id__rotate_secret_post: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                webhook_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SecretRotated"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    send_test_v1_orgs__org_id__webhooks__webhook_id__test_post: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                webhook_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeliveryRead"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_workspaces_v1_orgs__org_id__workspaces_get: {
        parameters: {
            query?: {
                /** @description Cursor for pagination (from previous response's next_cursor) */
                cursor?: string | null;
                /** @description Only active (or inactive) ones */
                is_active?: boolean | null;
                /** @description Maximum number of items to return (1-200) */
                limit?: number;
                /** @description If given, must equal org_id */
                organization_id?: string | null;
                /** @description Name contains (any case) */
                q?: string | null;
                /** @description Only this region */
                region?: string | null;
                /** @description Only those with this tag */
                tag?: string | null;
            };
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkspaceList"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_workspace_v1_orgs__org_id__workspaces_post: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
                /** @description 1-255 printable ASCII characters; the same key and body within 24 h replays the first answer, the same key with another body is 422 */
                "idempotency-key"?: string | null;
            };
            path: {
                org_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WorkspaceCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkspaceRead"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org (`FORBIDDEN`), or the org has reached MAX_WORKSPACES_PER_ORG (`QUOTA_EXCEEDED`, details `{quota, limit, current}`) */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get_workspace_v1_orgs__org_id__workspaces__workspace_id__get: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
                /** @description ETag from a previous read; 304 if unchanged */
                "if-none-match"?: string;
            };
            path: {
                org_id: string;
                /** @description The workspace's id (from its create response) */
                workspace_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkspaceRead"];
                };
            };
            /** @description Not modified (If-None-Match matched) */
            304: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    update_workspace_v1_orgs__org_id__workspaces__workspace_id__put: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
                /** @description ETag from a previous read; 412 if the workspace changed */
                "if-match"?: string | null;
            };
            path: {
                org_id: string;
                /** @description The workspace's id (from its create response) */
                workspace_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WorkspaceUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkspaceRead"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description If-Match did not match */
            412: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Body over 64 KiB */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_workspace_v1_orgs__org_id__workspaces__workspace_id__delete: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
                /** @description ETag from a previous read; 412 if the workspace changed */
                "if-match"?: string | null;
            };
            path: {
                org_id: string;
                /** @description The workspace's id (from its create response) */
                workspace_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description If-Match did not match */
            412: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    presence_list_v1_orgs__org_id__workspaces__workspace_id__sync_presence_get: {
        parameters: {
            query?: {
                /** @description Only members viewing this resource */
                resource_id?: string | null;
                /** @description Only members viewing this type */
                resource_type?: string | null;
            };
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                /** @description The workspace's id (from its create response) */
                workspace_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PresenceList"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The shared presence store (Redis) is unreachable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    presence_join_v1_orgs__org_id__workspaces__workspace_id__sync_presence_join_post: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                /** @description The workspace's id (from its create response) */
                workspace_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The shared presence store (Redis) is unreachable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    presence_leave_v1_orgs__org_id__workspaces__workspace_id__sync_presence_leave_post: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                /** @description The workspace's id (from its create response) */
                workspace_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The shared presence store (Redis) is unreachable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    presence_viewing_v1_orgs__org_id__workspaces__workspace_id__sync_presence_viewing_post: {
        parameters: {
            query: {
                /** @description ID of resource being viewed */
                resource_id: string;
                /** @description Type of resource being viewed */
                resource_type: string;
            };
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                /** @description The workspace's id (from its create response) */
                workspace_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The shared presence store (Redis) is unreachable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    stream_events_v1_orgs__org_id__workspaces__workspace_id__sync_stream_get: {
        parameters: {
            query?: {
                /** @description Bearer token, for clients that cannot set headers (EventSource); off unless ALLOW_QUERY_TOKEN (tickets replace it) */
                access_token?: string | null;
                /** @description Resume after this event id (like Last-Event-ID) */
                last_event_id?: string | null;
                /** @description A stream ticket (POST …/sync/tickets): opens this workspace's stream only */
                ticket?: string | null;
                /** @description Stream timeout in seconds */
                timeout?: number;
            };
            header?: {
                authorization?: string | null;
                /** @description Resume after this event id (EventSource) */
                "last-event-id"?: string | null;
            };
            path: {
                org_id: string;
                /** @description The workspace's id (from its create response) */
                workspace_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Server-Sent Events: `retry:`, then `sync.connected`, then the workspace's events (`id:`, `event:`, one-line JSON `data:`), heartbeat comments, and `sync.timeout` after `timeout` seconds. A resume (Last-Event-ID) of a workspace deleted since gets the events it missed, up to `workspace.deleted`, then ends. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                    "text/event-stream": {
                        /** @description One line of JSON: `{id, type, org_id, workspace_id, actor_id, occurred_at, data}` */
                        data: string;
                        /** @description The event type, e.g. `workspace.updated` */
                        event: string;
                        /** @description The resume point, for Last-Event-ID */
                        id: string;
                        /** @description Reconnection delay hint (ms) */
                        retry?: number;
                    };
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_stream_ticket_v1_orgs__org_id__workspaces__workspace_id__sync_tickets_post: {
        parameters: {
            query?: never;
            header?: {
                /** @description `Bearer <token>`: an API key or a JWT */
                authorization?: string | null;
            };
            path: {
                org_id: string;
                /** @description The workspace's id (from its create response) */
                workspace_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StreamTicket"];
                };
            };
            /** @description Missing, invalid, revoked or expired token */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description The token lacks the permission or the org */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description No such resource in this organization */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description A rate limit of the credential or the org (`RATE_LIMITED`; the event stream also `TOO_MANY_STREAMS`); retry after `Retry-After` seconds */
            429: {
                headers: {
                    /** @description What is left of each limit, and when it is whole again */
                    RateLimit?: string;
                    /** @description The limits (draft-ietf-httpapi-ratelimit-headers) */
                    "RateLimit-Policy"?: string;
                    /** @description Seconds to wait */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description Unexpected error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
}
