using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Sluice.Cli.Service;

/// <summary>The job service's REST API, for <c>sluice submit</c> and <c>sluice jobs</c>: each call returns the JSON the server sent, or throws a clear error.</summary>
internal sealed class ServiceClient : IDisposable
{
    private readonly HttpClient _http;

    public ServiceClient(string server, string token)
    {
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new SluiceException($"--server {server}: give the service's URL, e.g. http://127.0.0.1:8080");
        _http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(2) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Task<JsonElement> SubmitAsync(string spec, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, "api/jobs", new StringContent(spec, Encoding.UTF8, "application/yaml"), ct);

    public Task<JsonElement> ListAsync(string? state, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, state is null ? "api/jobs" : $"api/jobs?state={Uri.EscapeDataString(state)}", null, ct);

    public Task<JsonElement> ShowAsync(string id, CancellationToken ct) => SendAsync(HttpMethod.Get, $"api/jobs/{Uri.EscapeDataString(id)}", null, ct);

    public Task<JsonElement> CancelAsync(string id, CancellationToken ct) => SendAsync(HttpMethod.Post, $"api/jobs/{Uri.EscapeDataString(id)}/cancel", null, ct);

    public Task<JsonElement> ResumeAsync(string id, CancellationToken ct) => SendAsync(HttpMethod.Post, $"api/jobs/{Uri.EscapeDataString(id)}/resume", null, ct);

    public async Task<string> LogAsync(string id, CancellationToken ct)
    {
        using var response = await CallAsync(HttpMethod.Get, $"api/jobs/{Uri.EscapeDataString(id)}/log", null, ct).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var response = await CallAsync(method, path, content, ct).ConfigureAwait(false);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
        return json.RootElement.Clone();
    }

    private async Task<HttpResponseMessage> CallAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new SluiceException($"cannot reach the job service at {_http.BaseAddress}: {e.Message}");
        }
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.Unauthorized) throw new SluiceException("the server refused the token; set SLUICE_TOKEN or --token-file");
            throw await ProblemAsync(response, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The server's problem details as an error: the detail (a spec's every problem), else the title, else the status.</summary>
    private static async Task<SluiceException> ProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            var detail = root.TryGetProperty("detail", out var d) ? d.GetString() : null;
            var title = root.TryGetProperty("title", out var t) ? t.GetString() : null;
            // A refused spec's detail lists every problem, as `sluice run` prints them.
            return root.TryGetProperty("errors", out _) && detail is not null ? new SluiceException(detail) : new SluiceException($"{title}: {detail}");
        }
        catch (JsonException)
        {
            return new SluiceException($"the job service answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }
}
