using System.Text.Json;

namespace Sluice.Service.Tests;

/// <summary>Reads a server-sent event stream: (event, data as JSON) until the stream ends or <c>end</c> arrives.</summary>
internal static class Sse
{
    public static async Task<List<(string Event, JsonElement Data)>> FollowAsync(HttpClient http, string path, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var events = new List<(string, JsonElement)>();
        string? name = null;
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                using var json = JsonDocument.Parse(line["data: ".Length..]);
                events.Add((name ?? "message", json.RootElement.Clone()));
                if (name == "end") break;
            }
        }
        return events;
    }
}
