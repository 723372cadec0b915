{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "sluice.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Sluice image, pinned by tag or digest. */}}
{{- define "sluice.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if eq $tag "latest" -}}{{- fail "image.tag: 'latest' is not accepted; pin a version (or set image.digest)" -}}{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "sluice.redis.fullname" -}}
{{- printf "%s-redis" (include "sluice.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* redis://HOST:PORT the workers join (no password: it comes from SLUICE_REDIS_PASSWORD). */}}
{{- define "sluice.redis.url" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s:%v" (include "sluice.redis.fullname" .) .Values.redis.port -}}
{{- else -}}
{{- $url := required "redis.external.url is required when redis.enabled is false (redis://HOST:PORT)" .Values.redis.external.url -}}
{{- if not .Values.redis.auth.existingSecret -}}
{{- fail "redis.auth.existingSecret is required with an external Redis (redis.enabled: false): the Secret holding its password (key redis.auth.existingSecretPasswordKey); the cluster does not run on a Redis without a password" -}}
{{- end -}}
{{- if regexMatch "^rediss?://[^/@]*@" $url -}}
{{- fail "redis.external.url: put no password in the URL; give it in a Secret named by redis.auth.existingSecret" -}}
{{- end -}}
{{- $url -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the Redis password, or "" when there is none (external Redis without auth). */}}
{{- define "sluice.redis.secretName" -}}
{{- if .Values.redis.auth.existingSecret -}}
{{- .Values.redis.auth.existingSecret -}}
{{- else if .Values.redis.enabled -}}
{{- printf "%s-auth" (include "sluice.redis.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "sluice.redis.secretKey" -}}
{{- if .Values.redis.auth.existingSecret -}}
{{- .Values.redis.auth.existingSecretPasswordKey -}}
{{- else -}}
password
{{- end -}}
{{- end -}}

{{- define "sluice.autoscaler.serviceAccountName" -}}
{{- if .Values.autoscaler.serviceAccount.create -}}
{{- default (printf "%s-autoscaler" (include "sluice.fullname" .)) .Values.autoscaler.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.autoscaler.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* terminationGracePeriodSeconds of the workers: given, or preStop sleep + drain timeout + 30 s. */}}
{{- define "sluice.worker.grace" -}}
{{- $w := .Values.worker -}}
{{- $floor := add (int $w.preStopSleepSeconds) (int $w.drainTimeoutSeconds) -}}
{{- if kindIs "invalid" $w.terminationGracePeriodSeconds -}}
{{- add $floor 30 -}}
{{- else -}}
{{- if le (int $w.terminationGracePeriodSeconds) $floor -}}
{{- fail (printf "worker.terminationGracePeriodSeconds (%v) must be greater than worker.preStopSleepSeconds + worker.drainTimeoutSeconds (%v), or the kubelet kills a worker mid-drain" $w.terminationGracePeriodSeconds $floor) -}}
{{- end -}}
{{- int $w.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end -}}

{{/* The Deployment of a worker group: FULLNAME-worker-GROUP (sluice-worker-GROUP for release "sluice").
     Called with (dict "root" $ "group" $g); the worker Deployments, the Role's resourceNames and the autoscale
     file all take the name from here. */}}
{{- define "sluice.worker.deploymentName" -}}
{{- printf "%s-worker-%s" (include "sluice.fullname" .root) .group.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* --listen of every silo (workers and the driver): all interfaces, on the silo port; other nodes call it at
     POD_IP (the --advertise default). */}}
{{- define "sluice.listen" -}}
{{- printf "0.0.0.0:%v" .Values.siloPort -}}
{{- end -}}

{{/* A worker probe over HTTP on the health port (--health): (dict "path" "/healthz" "probe" .Values.worker.livenessProbe). */}}
{{- define "sluice.worker.probe" -}}
httpGet:
  path: {{ .path }}
  port: health
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- with .probe.timeoutSeconds }}
timeoutSeconds: {{ . }}
{{- end }}
{{- end -}}

{{/* Mutual TLS between silos, the same for every worker and the driver (tls.existingSecret; "" when it is off).
     The Secret's two keys are projected as ca.crt and node.pfx, so the arguments do not depend on the key names.
     The node takes a PKCS#12 file (certificate and key), not a kubernetes.io/tls PEM pair: those keys are refused. */}}
{{- define "sluice.tls.check" -}}
{{- $t := .Values.tls -}}
{{- range $field, $key := dict "caKey" $t.caKey "certKey" $t.certKey -}}
{{- if has $key (list "tls.crt" "tls.key") -}}
{{- fail (printf "tls.%s: '%s' is a key of a kubernetes.io/tls Secret (a PEM pair); a Sluice node takes the cluster CA certificate and a PKCS#12 file holding its certificate and key (ca.crt and node-N.pfx of `sluice cluster init`): make a generic Secret with keys ca.crt and node.pfx (see tls in values.yaml)" $field $key) -}}
{{- end -}}
{{- end -}}
{{- if eq $t.caKey "ca.key" -}}
{{- fail "tls.caKey: 'ca.key' is the CA's private key, which stays outside the cluster; give the key holding the CA certificate (ca.crt)" -}}
{{- end -}}
{{- if eq $t.caKey $t.certKey -}}
{{- fail (printf "tls.caKey and tls.certKey are both '%s': give the CA certificate and the node's PKCS#12 file under two keys" $t.caKey) -}}
{{- end -}}
{{- end -}}

{{/* --tls-ca and --tls-cert, as container argument list items. */}}
{{- define "sluice.tls.args" -}}
{{- if .Values.tls.existingSecret -}}
{{- include "sluice.tls.check" . -}}
- --tls-ca
- {{ printf "%s/ca.crt" .Values.tls.mountPath | quote }}
- --tls-cert
- {{ printf "%s/node.pfx" .Values.tls.mountPath | quote }}
{{- end -}}
{{- end -}}

{{- define "sluice.tls.volumeMount" -}}
{{- if .Values.tls.existingSecret -}}
- name: tls
  mountPath: {{ .Values.tls.mountPath }}
  readOnly: true
{{- end -}}
{{- end -}}

{{- define "sluice.tls.volume" -}}
{{- if .Values.tls.existingSecret -}}
- name: tls
  secret:
    secretName: {{ .Values.tls.existingSecret }}
    defaultMode: 288  # 0440: owner and group (fsGroup) read
    items:
      - key: {{ .Values.tls.caKey | quote }}
        path: ca.crt
      - key: {{ .Values.tls.certKey | quote }}
        path: node.pfx
{{- end -}}
{{- end -}}
