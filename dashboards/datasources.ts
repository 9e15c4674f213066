// Datasource uids the provisioning fixes and every dashboard refers to.
export const PROMETHEUS_DATASOURCE_UID = "mesh-prometheus";
export const ZIPKIN_DATASOURCE_UID = "mesh-zipkin";
