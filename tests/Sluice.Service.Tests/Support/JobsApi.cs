using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Sluice.Service.Tests;

/// <summary>The calls tests make on the jobs API: submit a YAML spec, poll a job until it gets somewhere.</summary>
internal static class JobsApi
{
    public static Task<HttpResponseMessage> SubmitAsync(HttpClient http, string spec) =>
        http.PostAsync("api/jobs", new StringContent(spec, Encoding.UTF8, "application/yaml"));

    /// <summary>Submits <paramref name="spec"/>, fails with the server's answer unless it was accepted, and returns the job's id.</summary>
    public static async Task<string> SubmitAcceptedAsync(HttpClient http, string spec)
    {
        var response = await SubmitAsync(http, spec);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>Polls the job every 100 ms (at most a minute) until <paramref name="until"/> holds; returns it then.</summary>
    public static async Task<JsonElement> WaitForAsync(HttpClient http, string id, Func<JsonElement, bool> until)
    {
        for (var i = 0; i < 600; i++)
        {
            var job = await http.GetFromJsonAsync<JsonElement>($"api/jobs/{id}");
            if (until(job)) return job;
            await Task.Delay(100);
        }
        throw new TimeoutException($"job {id} never got there");
    }
}
