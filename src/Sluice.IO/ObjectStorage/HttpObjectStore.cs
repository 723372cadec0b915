using System.Net;

namespace Sluice.IO.ObjectStorage;

/// <summary><c>https://</c> (and <c>http://</c> to this machine) through <see cref="HttpClient"/>; no credentials are sent.</summary>
internal sealed class HttpObjectStore : IObjectStore
{
    // One client for the process: sockets are pooled, and a client per fetch would leave them in TIME_WAIT.
    // Redirects stay on: HttpClient never follows one from https to http.
    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromMinutes(30) };

    public async Task<RemoteObject> HeadAsync(Uri url, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, url);
            using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            Check(url, response);
            return new RemoteObject(response.Content.Headers.ContentLength, response.Headers.ETag?.Tag);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(url, e);
        }
    }

    public async Task<RemoteObject> GetAsync(Uri url, Stream stream, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            Check(url, response);
            await response.Content.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
            return new RemoteObject(response.Content.Headers.ContentLength, response.Headers.ETag?.Tag);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw Unreachable(url, e);
        }
    }

    private static void Check(Uri url, HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode) return;
        var what = response.StatusCode switch
        {
            HttpStatusCode.NotFound => "no such object",
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => "access denied: https URLs are read without credentials; the object must be readable by anyone who has the URL (e.g. a pre-signed URL)",
            var status => $"the server answered {(int)status} {response.ReasonPhrase}",
        };
        throw new ObjectFileException($"{ObjectFiles.Display(url)}: {what}");
    }

    private static ObjectFileException Unreachable(Uri url, Exception e) =>
        new($"{ObjectFiles.Display(url)}: the server could not be reached or broke off ({e.GetBaseException().Message})", e);

    public void Dispose() { }
}
