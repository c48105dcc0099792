{{/* Names: <release>-crashline, or the release name when it says crashline already. */}}
{{- define "crashline.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A component's name; arguments (dict "root" $ "component" NAME). */}}
{{- define "crashline.name" -}}
{{- printf "%s-%s" (include "crashline.fullname" .root) .component -}}
{{- end -}}

{{- define "crashline.selectorLabels" -}}
app.kubernetes.io/name: crashline
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "crashline.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{ include "crashline.selectorLabels" . }}
app.kubernetes.io/part-of: crashline
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* The image of a service: <repository>-<service>:<tag>. */}}
{{- define "crashline.image" -}}
{{- printf "%s-%s:%s" .root.Values.image.repository .image (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* Environment of a container: its own settings, then the ones from Secrets (common and
the service's own, less skipSecrets: what the service never reads). Arguments: root,
values (the service's), env (a list of name/value), skipSecrets (a list, may be nil). */}}
{{- define "crashline.env" -}}
{{- range .env }}
- name: {{ .name }}
  value: {{ .value | quote }}
{{- end }}
{{- range $name, $value := .values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- $skip := .skipSecrets | default list }}
{{- range $name, $ref := merge (dict) (.values.secretEnv | default dict) .root.Values.secretEnv }}
{{- if not (has $name $skip) }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef: {name: {{ $ref.secret }}, key: {{ $ref.key }}}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level settings every Crashline pod shares. Arguments: root, values. */}}
{{- define "crashline.podSpec" -}}
automountServiceAccountToken: false
{{- with .root.Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
securityContext: {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A Deployment of one service. Arguments:
  root, component, values (the service's values), image (collector, processor...),
  command (list), port (the port it serves health and metrics on), env (list of
  name/value: the settings that put it on that port), skipSecrets, readinessPath,
  replicas (or nil: an autoscaler owns them), strategy, volumes and volumeMounts (lists,
  may be empty), tmpSize (of /tmp).
*/}}
{{- define "crashline.deployment" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "crashline.name" $ctx }}
  labels: {{- include "crashline.labels" $ctx | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .replicas) }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy: {{- toYaml .strategy | nindent 4 }}
  selector:
    matchLabels: {{- include "crashline.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels: {{- include "crashline.labels" $ctx | nindent 8 }}
      annotations:
        checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .port | quote }}
        prometheus.io/path: /metrics
        {{- with .values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "crashline.podSpec" . | nindent 6 }}
      terminationGracePeriodSeconds: {{ .values.terminationGracePeriodSeconds }}
      containers:
        - name: {{ .component }}
          image: {{ include "crashline.image" . }}
          imagePullPolicy: {{ .root.Values.image.pullPolicy }}
          command: {{- toYaml .command | nindent 12 }}
          ports:
            - {name: http, containerPort: {{ .port }}, protocol: TCP}
          envFrom:
            - configMapRef: {name: {{ include "crashline.fullname" .root }}-config}
          env: {{- include "crashline.env" . | nindent 12 }}
          # Dockerflow: /__lbheartbeat__ says the process serves, /__heartbeat__ that its
          # backends answer too.
          startupProbe:
            httpGet: {path: /__lbheartbeat__, port: http}
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: {path: /__lbheartbeat__, port: http}
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          readinessProbe:
            httpGet: {path: {{ .readinessPath }}, port: http}
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          resources: {{- toYaml .values.resources | nindent 12 }}
          securityContext: {{- toYaml .root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            {{- with .volumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {sizeLimit: {{ .tmpSize | default "256Mi" }}}
        {{- with .volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- end -}}

{{/* An HPA on CPU. Arguments: root, component, autoscaling (minReplicas, maxReplicas,
targetCPUUtilizationPercentage). */}}
{{- define "crashline.cpuAutoscaler" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "crashline.name" $ctx }}
  labels: {{- include "crashline.labels" $ctx | nindent 4 }}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ include "crashline.name" $ctx }}}
  minReplicas: {{ .autoscaling.minReplicas }}
  maxReplicas: {{ .autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: {type: Utilization, averageUtilization: {{ .autoscaling.targetCPUUtilizationPercentage }}}
{{- end -}}

{{/* A PodDisruptionBudget. Arguments: root, component, pdb (maxUnavailable). Pods that
are not ready may always be evicted, so a broken pod never blocks a node drain. */}}
{{- define "crashline.pdb" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "crashline.name" $ctx }}
  labels: {{- include "crashline.labels" $ctx | nindent 4 }}
spec:
  maxUnavailable: {{ .pdb.maxUnavailable }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels: {{- include "crashline.selectorLabels" $ctx | nindent 6 }}
{{- end -}}

{{/* A ClusterIP (or other) Service in front of a web service. Arguments: root, component,
service (type, port). */}}
{{- define "crashline.service" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "crashline.name" $ctx }}
  labels: {{- include "crashline.labels" $ctx | nindent 4 }}
spec:
  type: {{ .service.type }}
  selector: {{- include "crashline.selectorLabels" $ctx | nindent 4 }}
  ports:
    - {name: http, port: {{ .service.port }}, targetPort: http, protocol: TCP}
{{- end -}}
