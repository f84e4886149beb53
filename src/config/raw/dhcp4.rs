//! The `Dhcp4` section and the maps found only in it: subnets, pools, shared networks,
//! v4 reservations, v4 client classes, v4 interfaces and compatibility settings
//! (Kea ARM, "The DHCPv4 Server"). Keys of Kea 2.2 and Kea 3.0 are both accepted.

use serde::{Deserialize, Serialize};

use crate::config::de::Loc;

use super::common::{
    ConfigControl, ControlSocket, DhcpDdnsClient, DhcpQueueControl, ExpiredLeasesProcessing, HooksLibrary,
    LeaseDatabase, Logger, MultiThreading, OptionData, OptionDef, Relay, SanityChecks,
};

/// The `Dhcp4` section: the DHCPv4 server (ARM: the DHCPv4 server).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dhcp4 {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `valid-lifetime`: lease valid lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_lifetime: Option<i64>,
    /// `min-valid-lifetime`: lower bound on a client-requested valid lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_valid_lifetime: Option<i64>,
    /// `max-valid-lifetime`: upper bound on a client-requested valid lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_valid_lifetime: Option<i64>,
    /// `renew-timer`: T1 sent to clients, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_timer: Option<i64>,
    /// `rebind-timer`: T2 sent to clients, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebind_timer: Option<i64>,
    /// `decline-probation-period`: seconds a declined address stays unusable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_probation_period: Option<i64>,
    /// `subnet4`: IPv4 subnets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet4: Option<Vec<Subnet4>>,
    /// `shared-networks`: shared networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_networks: Option<Vec<SharedNetwork4>>,
    /// `interfaces-config`: interfaces and sockets to listen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interfaces_config: Option<InterfacesConfig4>,
    /// `lease-database`: lease storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_database: Option<LeaseDatabase>,
    /// `hosts-database`: single host reservation database (older form of `hosts-databases`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts_database: Option<LeaseDatabase>,
    /// `hosts-databases`: host reservation databases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts_databases: Option<Vec<LeaseDatabase>>,
    /// `host-reservation-identifiers`: identifier types tried, in order, when looking up reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_reservation_identifiers: Option<Vec<String>>,
    /// `client-classes`: client class definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_classes: Option<Vec<ClientClass4>>,
    /// `option-def`: custom option definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_def: Option<Vec<OptionDef>>,
    /// `option-data`: option values to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_data: Option<Vec<OptionData>>,
    /// `hooks-libraries`: hook libraries to load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks_libraries: Option<Vec<HooksLibrary>>,
    /// `expired-leases-processing`: expired lease reclamation settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_leases_processing: Option<ExpiredLeasesProcessing>,
    /// `dhcp4o6-port`: first of the two UDP ports linking the DHCPv4 and DHCPv6 servers for 4o6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp4o6_port: Option<i64>,
    /// `control-socket`: single control channel (Kea 2.x form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_socket: Option<ControlSocket>,
    /// `control-sockets`: control channels: unix, http, https (Kea 3.0 form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_sockets: Option<Vec<ControlSocket>>,
    /// `dhcp-queue-control`: packet queue used to absorb bursts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp_queue_control: Option<DhcpQueueControl>,
    /// `dhcp-ddns`: connection to the DHCP-DDNS server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp_ddns: Option<DhcpDdnsClient>,
    /// `echo-client-id`: return the client identifier option in replies (RFC 6842).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_client_id: Option<bool>,
    /// `match-client-id`: identify v4 clients by client identifier when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_client_id: Option<bool>,
    /// `authoritative`: NAK requests for addresses this server does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authoritative: Option<bool>,
    /// `next-server`: siaddr value (next bootstrap server address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_server: Option<String>,
    /// `server-hostname`: sname field value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_hostname: Option<String>,
    /// `boot-file-name`: file field value (boot file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_file_name: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `sanity-checks`: lease consistency checks at load time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sanity_checks: Option<SanityChecks>,
    /// `reservations`: global host reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations: Option<Vec<Reservation4>>,
    /// `config-control`: configuration backend settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_control: Option<ConfigControl>,
    /// `server-tag`: tag selecting this server's configuration in a config backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_tag: Option<String>,
    /// `reservation-mode`: legacy reservation mode: disabled, out-of-pool, global or all (Kea 2.x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_mode: Option<String>,
    /// `reservations-global`: look up global reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations_global: Option<bool>,
    /// `reservations-in-subnet`: look up reservations made in the subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations_in_subnet: Option<bool>,
    /// `reservations-out-of-pool`: assume subnet reservations lie outside the pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations_out_of_pool: Option<bool>,
    /// `calculate-tee-times`: derive T1/T2 from the valid lifetime and the percents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculate_tee_times: Option<bool>,
    /// `t1-percent`: T1 as a fraction of the valid lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t1_percent: Option<f64>,
    /// `t2-percent`: T2 as a fraction of the valid lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t2_percent: Option<f64>,
    /// `cache-threshold`: fraction of the lifetime under which a lease is reused as is (lease caching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_threshold: Option<f64>,
    /// `adaptive-lease-time-threshold`: pool occupancy above which new leases get the minimum valid lifetime (Kea 3.1, flq allocator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive_lease_time_threshold: Option<f64>,
    /// `cache-max-age`: maximum age in seconds of a lease reused by lease caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_max_age: Option<i64>,
    /// `loggers`: logger settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loggers: Option<Vec<Logger>>,
    /// `ddns-send-updates`: send DNS updates for leases in this scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_send_updates: Option<bool>,
    /// `ddns-override-no-update`: update DNS even when the client asked not to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_override_no_update: Option<bool>,
    /// `ddns-override-client-update`: do the forward update even when the client wants to do it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_override_client_update: Option<bool>,
    /// `ddns-replace-client-name`: when to replace the client's name: never, always, when-present or when-not-present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_replace_client_name: Option<String>,
    /// `ddns-generated-prefix`: prefix of generated host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_generated_prefix: Option<String>,
    /// `ddns-qualifying-suffix`: suffix appended to partial host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_qualifying_suffix: Option<String>,
    /// `ddns-update-on-renew`: update DNS on every renewal, not only on change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_update_on_renew: Option<bool>,
    /// `ddns-conflict-resolution-mode`: conflict resolution mode for DNS updates (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_conflict_resolution_mode: Option<String>,
    /// `ddns-ttl-percent`: DNS TTL as a fraction of the lease lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_percent: Option<f64>,
    /// `ddns-ttl`: fixed DNS TTL in seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl: Option<i64>,
    /// `ddns-ttl-min`: lower bound on the computed DNS TTL, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_min: Option<i64>,
    /// `ddns-ttl-max`: upper bound on the computed DNS TTL, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_max: Option<i64>,
    /// `hostname-char-set`: regular expression of characters to replace in host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_char_set: Option<String>,
    /// `hostname-char-replacement`: replacement for characters matched by `hostname-char-set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_char_replacement: Option<String>,
    /// `ddns-use-conflict-resolution`: use RFC 4703 conflict resolution (Kea 2.2; replaced by `ddns-conflict-resolution-mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_use_conflict_resolution: Option<bool>,
    /// `store-extended-info`: keep relay and other extended information in the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_extended_info: Option<bool>,
    /// `statistic-default-sample-count`: default number of samples kept per statistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic_default_sample_count: Option<i64>,
    /// `statistic-default-sample-age`: default maximum sample age per statistic, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic_default_sample_age: Option<i64>,
    /// `multi-threading`: packet processing threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_threading: Option<MultiThreading>,
    /// `early-global-reservations-lookup`: look up global reservations before subnet selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_global_reservations_lookup: Option<bool>,
    /// `ip-reservations-unique`: refuse two reservations of the same address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_reservations_unique: Option<bool>,
    /// `reservations-lookup-first`: look up reservations before leases (single-threaded only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations_lookup_first: Option<bool>,
    /// `compatibility`: workarounds for non-conforming clients and relays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<Compatibility4>,
    /// `parked-packet-limit`: most packets parked at once by hook libraries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked_packet_limit: Option<i64>,
    /// `allocator`: address allocator: iterative, random or flq (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocator: Option<String>,
    /// `offer-lifetime`: how long an offered address stays held before the REQUEST, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_lifetime: Option<i64>,
    /// `stash-agent-options`: keep relay agent options of the last query in the lease (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stash_agent_options: Option<bool>,
}

/// One `subnet4` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Subnet4 {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `valid-lifetime`: lease valid lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_lifetime: Option<i64>,
    /// `min-valid-lifetime`: lower bound on a client-requested valid lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_valid_lifetime: Option<i64>,
    /// `max-valid-lifetime`: upper bound on a client-requested valid lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_valid_lifetime: Option<i64>,
    /// `renew-timer`: T1 sent to clients, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_timer: Option<i64>,
    /// `rebind-timer`: T2 sent to clients, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebind_timer: Option<i64>,
    /// `option-data`: option values to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_data: Option<Vec<OptionData>>,
    /// `pools`: dynamic address pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pools: Option<Vec<Pool4>>,
    /// `subnet`: subnet prefix in CIDR notation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// `interface`: local interface on which directly connected clients are served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// `id`: subnet identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// `client-class`: single class guarding this scope (Kea 2.x; replaced by `client-classes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_class: Option<String>,
    /// `client-classes`: classes a client must belong to (any of them) to use this scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_classes: Option<Vec<String>>,
    /// `require-client-classes`: classes evaluated late and only for this scope (Kea 2.x name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_client_classes: Option<Vec<String>>,
    /// `evaluate-additional-classes`: classes evaluated after lease assignment for this scope (Kea 3.0 name of `require-client-classes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_additional_classes: Option<Vec<String>>,
    /// `reservations`: host reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations: Option<Vec<Reservation4>>,
    /// `reservation-mode`: legacy reservation mode: disabled, out-of-pool, global or all (Kea 2.x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_mode: Option<String>,
    /// `reservations-global`: look up global reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations_global: Option<bool>,
    /// `reservations-in-subnet`: look up reservations made in the subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations_in_subnet: Option<bool>,
    /// `reservations-out-of-pool`: assume subnet reservations lie outside the pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations_out_of_pool: Option<bool>,
    /// `relay`: relay agent addresses that select this network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<Relay>,
    /// `match-client-id`: identify v4 clients by client identifier when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_client_id: Option<bool>,
    /// `authoritative`: NAK requests for addresses this server does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authoritative: Option<bool>,
    /// `next-server`: siaddr value (next bootstrap server address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_server: Option<String>,
    /// `server-hostname`: sname field value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_hostname: Option<String>,
    /// `boot-file-name`: file field value (boot file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_file_name: Option<String>,
    /// `4o6-interface`: DHCPv4-over-DHCPv6 interface selecting this subnet.
    #[serde(rename = "4o6-interface", default, skip_serializing_if = "Option::is_none")]
    pub four_o6_interface: Option<String>,
    /// `4o6-interface-id`: DHCPv4-over-DHCPv6 interface-id selecting this subnet.
    #[serde(rename = "4o6-interface-id", default, skip_serializing_if = "Option::is_none")]
    pub four_o6_interface_id: Option<String>,
    /// `4o6-subnet`: DHCPv4-over-DHCPv6 IPv6 prefix selecting this subnet.
    #[serde(rename = "4o6-subnet", default, skip_serializing_if = "Option::is_none")]
    pub four_o6_subnet: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `calculate-tee-times`: derive T1/T2 from the valid lifetime and the percents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculate_tee_times: Option<bool>,
    /// `t1-percent`: T1 as a fraction of the valid lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t1_percent: Option<f64>,
    /// `t2-percent`: T2 as a fraction of the valid lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t2_percent: Option<f64>,
    /// `cache-threshold`: fraction of the lifetime under which a lease is reused as is (lease caching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_threshold: Option<f64>,
    /// `adaptive-lease-time-threshold`: pool occupancy above which new leases get the minimum valid lifetime (Kea 3.1, flq allocator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive_lease_time_threshold: Option<f64>,
    /// `cache-max-age`: maximum age in seconds of a lease reused by lease caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_max_age: Option<i64>,
    /// `ddns-send-updates`: send DNS updates for leases in this scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_send_updates: Option<bool>,
    /// `ddns-override-no-update`: update DNS even when the client asked not to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_override_no_update: Option<bool>,
    /// `ddns-override-client-update`: do the forward update even when the client wants to do it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_override_client_update: Option<bool>,
    /// `ddns-replace-client-name`: when to replace the client's name: never, always, when-present or when-not-present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_replace_client_name: Option<String>,
    /// `ddns-generated-prefix`: prefix of generated host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_generated_prefix: Option<String>,
    /// `ddns-qualifying-suffix`: suffix appended to partial host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_qualifying_suffix: Option<String>,
    /// `ddns-update-on-renew`: update DNS on every renewal, not only on change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_update_on_renew: Option<bool>,
    /// `ddns-conflict-resolution-mode`: conflict resolution mode for DNS updates (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_conflict_resolution_mode: Option<String>,
    /// `ddns-ttl-percent`: DNS TTL as a fraction of the lease lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_percent: Option<f64>,
    /// `ddns-ttl`: fixed DNS TTL in seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl: Option<i64>,
    /// `ddns-ttl-min`: lower bound on the computed DNS TTL, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_min: Option<i64>,
    /// `ddns-ttl-max`: upper bound on the computed DNS TTL, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_max: Option<i64>,
    /// `hostname-char-set`: regular expression of characters to replace in host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_char_set: Option<String>,
    /// `hostname-char-replacement`: replacement for characters matched by `hostname-char-set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_char_replacement: Option<String>,
    /// `ddns-use-conflict-resolution`: use RFC 4703 conflict resolution (Kea 2.2; replaced by `ddns-conflict-resolution-mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_use_conflict_resolution: Option<bool>,
    /// `store-extended-info`: keep relay and other extended information in the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_extended_info: Option<bool>,
    /// `allocator`: address allocator: iterative, random or flq (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocator: Option<String>,
    /// `offer-lifetime`: how long an offered address stays held before the REQUEST, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_lifetime: Option<i64>,
}

/// One `shared-networks` entry of Dhcp4.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SharedNetwork4 {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `name`: shared network name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `subnet4`: IPv4 subnets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet4: Option<Vec<Subnet4>>,
    /// `interface`: local interface on which directly connected clients are served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// `renew-timer`: T1 sent to clients, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_timer: Option<i64>,
    /// `rebind-timer`: T2 sent to clients, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebind_timer: Option<i64>,
    /// `option-data`: option values to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_data: Option<Vec<OptionData>>,
    /// `match-client-id`: identify v4 clients by client identifier when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_client_id: Option<bool>,
    /// `authoritative`: NAK requests for addresses this server does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authoritative: Option<bool>,
    /// `next-server`: siaddr value (next bootstrap server address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_server: Option<String>,
    /// `server-hostname`: sname field value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_hostname: Option<String>,
    /// `boot-file-name`: file field value (boot file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_file_name: Option<String>,
    /// `relay`: relay agent addresses that select this network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<Relay>,
    /// `reservation-mode`: legacy reservation mode: disabled, out-of-pool, global or all (Kea 2.x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_mode: Option<String>,
    /// `reservations-global`: look up global reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations_global: Option<bool>,
    /// `reservations-in-subnet`: look up reservations made in the subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations_in_subnet: Option<bool>,
    /// `reservations-out-of-pool`: assume subnet reservations lie outside the pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations_out_of_pool: Option<bool>,
    /// `client-class`: single class guarding this scope (Kea 2.x; replaced by `client-classes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_class: Option<String>,
    /// `client-classes`: classes a client must belong to (any of them) to use this scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_classes: Option<Vec<String>>,
    /// `require-client-classes`: classes evaluated late and only for this scope (Kea 2.x name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_client_classes: Option<Vec<String>>,
    /// `evaluate-additional-classes`: classes evaluated after lease assignment for this scope (Kea 3.0 name of `require-client-classes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_additional_classes: Option<Vec<String>>,
    /// `valid-lifetime`: lease valid lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_lifetime: Option<i64>,
    /// `min-valid-lifetime`: lower bound on a client-requested valid lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_valid_lifetime: Option<i64>,
    /// `max-valid-lifetime`: upper bound on a client-requested valid lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_valid_lifetime: Option<i64>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `calculate-tee-times`: derive T1/T2 from the valid lifetime and the percents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculate_tee_times: Option<bool>,
    /// `t1-percent`: T1 as a fraction of the valid lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t1_percent: Option<f64>,
    /// `t2-percent`: T2 as a fraction of the valid lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t2_percent: Option<f64>,
    /// `cache-threshold`: fraction of the lifetime under which a lease is reused as is (lease caching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_threshold: Option<f64>,
    /// `adaptive-lease-time-threshold`: pool occupancy above which new leases get the minimum valid lifetime (Kea 3.1, flq allocator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive_lease_time_threshold: Option<f64>,
    /// `cache-max-age`: maximum age in seconds of a lease reused by lease caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_max_age: Option<i64>,
    /// `ddns-send-updates`: send DNS updates for leases in this scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_send_updates: Option<bool>,
    /// `ddns-override-no-update`: update DNS even when the client asked not to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_override_no_update: Option<bool>,
    /// `ddns-override-client-update`: do the forward update even when the client wants to do it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_override_client_update: Option<bool>,
    /// `ddns-replace-client-name`: when to replace the client's name: never, always, when-present or when-not-present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_replace_client_name: Option<String>,
    /// `ddns-generated-prefix`: prefix of generated host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_generated_prefix: Option<String>,
    /// `ddns-qualifying-suffix`: suffix appended to partial host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_qualifying_suffix: Option<String>,
    /// `ddns-update-on-renew`: update DNS on every renewal, not only on change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_update_on_renew: Option<bool>,
    /// `ddns-conflict-resolution-mode`: conflict resolution mode for DNS updates (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_conflict_resolution_mode: Option<String>,
    /// `ddns-ttl-percent`: DNS TTL as a fraction of the lease lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_percent: Option<f64>,
    /// `ddns-ttl`: fixed DNS TTL in seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl: Option<i64>,
    /// `ddns-ttl-min`: lower bound on the computed DNS TTL, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_min: Option<i64>,
    /// `ddns-ttl-max`: upper bound on the computed DNS TTL, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_max: Option<i64>,
    /// `hostname-char-set`: regular expression of characters to replace in host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_char_set: Option<String>,
    /// `hostname-char-replacement`: replacement for characters matched by `hostname-char-set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_char_replacement: Option<String>,
    /// `ddns-use-conflict-resolution`: use RFC 4703 conflict resolution (Kea 2.2; replaced by `ddns-conflict-resolution-mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_use_conflict_resolution: Option<bool>,
    /// `store-extended-info`: keep relay and other extended information in the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_extended_info: Option<bool>,
    /// `allocator`: address allocator: iterative, random or flq (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocator: Option<String>,
    /// `offer-lifetime`: how long an offered address stays held before the REQUEST, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_lifetime: Option<i64>,
}

/// One `pools` entry of a `subnet4`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Pool4 {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `pool`: pool range, `first - last` or a prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// `pool-id`: pool identifier used to group statistics (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<i64>,
    /// `option-data`: option values to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_data: Option<Vec<OptionData>>,
    /// `client-class`: single class guarding this scope (Kea 2.x; replaced by `client-classes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_class: Option<String>,
    /// `client-classes`: classes a client must belong to (any of them) to use this scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_classes: Option<Vec<String>>,
    /// `require-client-classes`: classes evaluated late and only for this scope (Kea 2.x name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_client_classes: Option<Vec<String>>,
    /// `evaluate-additional-classes`: classes evaluated after lease assignment for this scope (Kea 3.0 name of `require-client-classes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_additional_classes: Option<Vec<String>>,
    /// `ddns-send-updates`: send DNS updates for leases in this scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_send_updates: Option<bool>,
    /// `ddns-override-no-update`: update DNS even when the client asked not to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_override_no_update: Option<bool>,
    /// `ddns-override-client-update`: do the forward update even when the client wants to do it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_override_client_update: Option<bool>,
    /// `ddns-replace-client-name`: when to replace the client's name: never, always, when-present or when-not-present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_replace_client_name: Option<String>,
    /// `ddns-generated-prefix`: prefix of generated host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_generated_prefix: Option<String>,
    /// `ddns-qualifying-suffix`: suffix appended to partial host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_qualifying_suffix: Option<String>,
    /// `ddns-update-on-renew`: update DNS on every renewal, not only on change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_update_on_renew: Option<bool>,
    /// `ddns-conflict-resolution-mode`: conflict resolution mode for DNS updates (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_conflict_resolution_mode: Option<String>,
    /// `ddns-ttl-percent`: DNS TTL as a fraction of the lease lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_percent: Option<f64>,
    /// `ddns-ttl`: fixed DNS TTL in seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl: Option<i64>,
    /// `ddns-ttl-min`: lower bound on the computed DNS TTL, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_min: Option<i64>,
    /// `ddns-ttl-max`: upper bound on the computed DNS TTL, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddns_ttl_max: Option<i64>,
    /// `hostname-char-set`: regular expression of characters to replace in host names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_char_set: Option<String>,
    /// `hostname-char-replacement`: replacement for characters matched by `hostname-char-set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_char_replacement: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One v4 host reservation (`reservations` entry).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Reservation4 {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `duid`: client DUID identifying the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duid: Option<String>,
    /// `client-classes`: classes the host is put in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_classes: Option<Vec<String>>,
    /// `client-id`: client identifier (option 61) identifying the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `circuit-id`: relay circuit-id identifying the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_id: Option<String>,
    /// `flex-id`: flexible identifier (flex_id hook) identifying the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flex_id: Option<String>,
    /// `ip-address`: reserved address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// `hw-address`: MAC address identifying the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hw_address: Option<String>,
    /// `hostname`: reserved host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `option-data`: options for this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_data: Option<Vec<OptionData>>,
    /// `next-server`: siaddr value (next bootstrap server address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_server: Option<String>,
    /// `server-hostname`: sname field value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_hostname: Option<String>,
    /// `boot-file-name`: file field value (boot file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_file_name: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One `client-classes` definition of Dhcp4 (ARM: client classification).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClientClass4 {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `name`: class name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `test`: expression deciding membership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// `template-test`: expression whose value names a spawned class (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_test: Option<String>,
    /// `only-if-required`: evaluate only when required by a scope (Kea 2.x name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_if_required: Option<bool>,
    /// `only-in-additional-list`: evaluate only when listed in `evaluate-additional-classes` (Kea 3.0 name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_in_additional_list: Option<bool>,
    /// `option-def`: option definitions private to the class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_def: Option<Vec<OptionDef>>,
    /// `option-data`: options for members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_data: Option<Vec<OptionData>>,
    /// `next-server`: siaddr value (next bootstrap server address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_server: Option<String>,
    /// `server-hostname`: sname field value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_hostname: Option<String>,
    /// `boot-file-name`: file field value (boot file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_file_name: Option<String>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `valid-lifetime`: lease valid lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_lifetime: Option<i64>,
    /// `min-valid-lifetime`: lower bound on a client-requested valid lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_valid_lifetime: Option<i64>,
    /// `max-valid-lifetime`: upper bound on a client-requested valid lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_valid_lifetime: Option<i64>,
    /// `offer-lifetime`: how long an offered address stays held before the REQUEST, seconds (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_lifetime: Option<i64>,
}

/// The `interfaces-config` map of Dhcp4.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InterfacesConfig4 {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `interfaces`: interfaces to listen on: `eth0`, `eth0/192.0.2.1` or `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interfaces: Option<Vec<String>>,
    /// `dhcp-socket-type`: `raw` (default) or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp_socket_type: Option<String>,
    /// `outbound-interface`: `same-as-inbound` or `use-routing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_interface: Option<String>,
    /// `re-detect`: re-detect interfaces on reconfiguration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub re_detect: Option<bool>,
    /// `service-sockets-require-all`: fail when a socket cannot be opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_sockets_require_all: Option<bool>,
    /// `service-sockets-retry-wait-time`: milliseconds between socket open retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_sockets_retry_wait_time: Option<i64>,
    /// `service-sockets-max-retries`: socket open retries, 0 means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_sockets_max_retries: Option<i64>,
    /// `user-context`: arbitrary user data kept with the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<serde_json::Value>,
    /// `comment`: free text comment (Kea stores it in the user context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The `compatibility` map of Dhcp4.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Compatibility4 {
    /// Where the map was written (see [`Loc`]).
    #[serde(rename = "$loc", default, skip_serializing)]
    pub loc: Loc,
    /// `lenient-option-parsing`: accept some malformed options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lenient_option_parsing: Option<bool>,
    /// `ignore-dhcp-server-identifier`: ignore the server identifier option sent by clients (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_dhcp_server_identifier: Option<bool>,
    /// `ignore-rai-link-selection`: ignore the RAI link-selection sub-option for subnet selection (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_rai_link_selection: Option<bool>,
    /// `exclude-first-last-24`: never hand out .0 and .255 addresses of /24 blocks inside larger pools (Kea 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_first_last_24: Option<bool>,
}
