using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sluice.Kubernetes.Tests.Support;

/// <summary>
/// An HTTP endpoint on 127.0.0.1 that answers the few calls the provider makes the way the Kubernetes API server does
/// (a Scale for GET/PATCH/PUT of a Deployment's scale subresource, a PodList for GET of the pods, a Pod for PATCH of a
/// pod, a Status with 403/404/409), and records every request. NOT an API server: it holds replicas and a
/// resourceVersion per Deployment, and pods with their readiness and the annotations patched onto them, nothing more;
/// every pod is listed whatever the label selector (which the tests check as recorded).
/// </summary>
internal sealed partial class RecordingApiServer : IDisposable
{
    public sealed record Request(string Method, string Path, string Query, string? ContentType, string Body, string? Authorization);

    private sealed class Deployment
    {
        public int Replicas;
        public int Version = 1;
    }

    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, Deployment> _deployments = [];
    private readonly Dictionary<string, Dictionary<string, string>> _pods = [];
    private readonly HashSet<string> _notReady = [];
    private readonly List<Request> _requests = [];
    private readonly Lock _lock = new();
    private readonly Task _loop;

    public RecordingApiServer(string @namespace)
    {
        Namespace = @namespace;
        var port = FreePort();
        Url = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Url + "/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string Namespace { get; }

    public string Url { get; }

    /// <summary>Answer 403 to requests this matches (as the API server does when RBAC lacks the verb).</summary>
    public Func<Request, bool> Forbid { get; set; } = _ => false;

    /// <summary>Before answering the next scale PATCH, another writer sets the replicas to this (so the patch's resourceVersion is stale: 409).</summary>
    public int? ChangeBeforeNextPatch { get; set; }

    public IReadOnlyList<Request> Requests
    {
        get { lock (_lock) return [.. _requests]; }
    }

    public void AddDeployment(string name, int replicas)
    {
        lock (_lock) _deployments[name] = new Deployment { Replicas = replicas };
    }

    public void AddPods(params string[] names)
    {
        lock (_lock) foreach (var n in names) _pods[n] = [];
    }

    /// <summary>A pod that is Pending (not scheduled, or starting): the ReplicaSet would delete it before marked ones.</summary>
    public void AddPendingPod(string name)
    {
        lock (_lock)
        {
            _pods[name] = [];
            _notReady.Add(name);
        }
    }

    public int Replicas(string deployment)
    {
        lock (_lock) return _deployments[deployment].Replicas;
    }

    public IReadOnlyDictionary<string, string> Annotations(string pod)
    {
        lock (_lock) return new Dictionary<string, string>(_pods[pod]);
    }

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var request = new Request(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, Uri.UnescapeDataString(context.Request.Url.Query), context.Request.ContentType,
                await reader.ReadToEndAsync(), context.Request.Headers["Authorization"]);
            var (status, body) = Answer(request);
            var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    private (int Status, JsonObject Body) Answer(Request request)
    {
        lock (_lock)
        {
            _requests.Add(request);
            if (Forbid(request))
                return Status(403, "Forbidden", $"forbidden: User \"system:serviceaccount:{Namespace}:default\" cannot {request.Method.ToLowerInvariant()} this resource");
            if (ScalePath().Match(request.Path) is { Success: true } s && s.Groups["ns"].Value == Namespace)
            {
                var name = s.Groups["name"].Value;
                if (!_deployments.TryGetValue(name, out var d)) return Status(404, "NotFound", $"deployments.apps \"{name}\" not found");
                if (request.Method is "PATCH" or "PUT")
                {
                    if (ChangeBeforeNextPatch is { } other)
                    {
                        ChangeBeforeNextPatch = null;
                        d.Replicas = other;
                        d.Version++;
                    }
                    var patch = JsonNode.Parse(request.Body)!;
                    var version = patch["metadata"]?["resourceVersion"]?.GetValue<string>();
                    if (version is not null && version != d.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))
                        return Status(409, "Conflict", "Operation cannot be fulfilled on deployments.apps: the object has been modified; please apply your changes to the latest version and try again");
                    d.Replicas = patch["spec"]!["replicas"]!.GetValue<int>();
                    d.Version++;
                }
                else if (request.Method != "GET")
                {
                    return Status(405, "MethodNotAllowed", "method not allowed");
                }
                return Scale(name, d);
            }
            if (request.Path == $"/api/v1/namespaces/{Namespace}/pods" && request.Method == "GET")
            {
                return (200, new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "PodList",
                    ["metadata"] = new JsonObject(),
                    ["items"] = new JsonArray([.. _pods.Keys.Select(name => (JsonNode)new JsonObject
                    {
                        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Namespace },
                        ["status"] = _notReady.Contains(name)
                            ? new JsonObject { ["phase"] = "Pending" }
                            : new JsonObject { ["phase"] = "Running", ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }) },
                    })]),
                });
            }
            if (PodPath().Match(request.Path) is { Success: true } p && p.Groups["ns"].Value == Namespace && request.Method == "PATCH")
            {
                var name = p.Groups["name"].Value;
                if (!_pods.TryGetValue(name, out var annotations)) return Status(404, "NotFound", $"pods \"{name}\" not found");
                var patch = JsonNode.Parse(request.Body)!;
                foreach (var (k, v) in patch["metadata"]?["annotations"]?.AsObject() ?? [])
                    annotations[k] = v!.GetValue<string>();
                return (200, new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Pod",
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = name,
                        ["namespace"] = Namespace,
                        ["annotations"] = JsonSerializer.SerializeToNode(annotations),
                    },
                });
            }
            return Status(404, "NotFound", $"the server could not find the requested resource ({request.Method} {request.Path})");
        }
    }

    private JsonObject ScaleBody(string name, Deployment d) => new()
    {
        ["apiVersion"] = "autoscaling/v1",
        ["kind"] = "Scale",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["namespace"] = Namespace,
            ["resourceVersion"] = d.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
        },
        ["spec"] = new JsonObject { ["replicas"] = d.Replicas },
        ["status"] = new JsonObject { ["replicas"] = d.Replicas, ["selector"] = $"app={name}" },
    };

    private (int, JsonObject) Scale(string name, Deployment d) => (200, ScaleBody(name, d));

    private static (int, JsonObject) Status(int code, string reason, string message) => (code, new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Status",
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    });

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    [GeneratedRegex("^/apis/apps/v1/namespaces/(?<ns>[^/]+)/deployments/(?<name>[^/]+)/scale$")]
    private static partial Regex ScalePath();

    [GeneratedRegex("^/api/v1/namespaces/(?<ns>[^/]+)/pods/(?<name>[^/]+)$")]
    private static partial Regex PodPath();
}
