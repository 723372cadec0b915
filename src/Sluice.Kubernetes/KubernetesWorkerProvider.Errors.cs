using System.Net;
using System.Text.Json;
using k8s.Autorest;

namespace Sluice.Kubernetes;

public sealed partial class KubernetesWorkerProvider
{
    /// <summary>
    /// What the operator needs from a refused call: for 403 the RBAC rule that is missing and who grants it, for 404
    /// which object in which namespace. Built from the status code and the API server's own message only, never from
    /// the request: its Authorization header carries the ServiceAccount token. For the same reason the client's exception is
    /// not kept as the inner one: it holds the request (headers included) for whoever serializes exceptions whole.
    /// </summary>
    private InvalidOperationException Failure(HttpOperationException e, string verb, string apiGroup, string resource, string kind, string name)
    {
        var code = e.Response?.StatusCode;
        var message = code switch
        {
            HttpStatusCode.Forbidden =>
                $"Kubernetes refused to {verb} {resource} of {kind} '{name}' in namespace '{Namespace}' (403 Forbidden): the driver's " +
                $"ServiceAccount lacks RBAC verb '{verb}' on resource '{resource}' (apiGroup \"{apiGroup}\"). The sluice chart's " +
                "autoscaler ServiceAccount grants it (autoscaler.rbac.create: true) and the chart's driver Job runs as that account; " +
                "a driver run otherwise needs a Role with that rule bound to its ServiceAccount",
            HttpStatusCode.NotFound =>
                $"the {kind} '{name}' was not found in namespace '{Namespace}' (404 Not Found): check the worker group's deployment " +
                "(default sluice-worker-GROUP; the sluice chart names it FULLNAME-worker-GROUP and writes it into the autoscale file) and the autoscale namespace",
            HttpStatusCode.Conflict =>
                $"the {kind} '{name}' in namespace '{Namespace}' kept changing under the autoscaler (409 Conflict {ConflictAttempts} times); " +
                "is another controller (a HorizontalPodAutoscaler?) scaling it too?",
            _ => $"Kubernetes answered {(int?)code} {e.Response?.ReasonPhrase} to {verb} {resource} of {kind} '{name}' in namespace '{Namespace}'" +
                 (StatusMessage(e.Response?.Content) is { } why ? $": {why}" : ""),
        };
        return new InvalidOperationException(message);
    }

    /// <summary>The <c>message</c> of the Status object the API server answers an error with, if the body is one.</summary>
    private static string? StatusMessage(string? body)
    {
        if (string.IsNullOrEmpty(body)) return null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
