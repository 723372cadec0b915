using Microsoft.AspNetCore.Http;

namespace Sluice.Service.Auth;

/// <summary>
/// Every <c>/api</c> and <c>/metrics</c> request needs a valid bearer token (the metrics' stage labels name the jobs'
/// inputs and outputs); <c>/healthz</c>, the OpenAPI document and the dashboard's static files are open.
/// </summary>
internal sealed class BearerTokens(RequestDelegate next, TokenSet tokens)
{
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!(path.StartsWithSegments("/api") || path.StartsWithSegments("/metrics")) || tokens.Accepts(context.Request.Headers.Authorization)) return next(context);
        context.Response.Headers.WWWAuthenticate = "Bearer";
        // The token presented is never logged nor echoed.
        return Microsoft.AspNetCore.Http.Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "unauthorized",
            detail: "give a valid token: Authorization: Bearer <token> (the service's --token-file or SLUICE_TOKENS)").ExecuteAsync(context);
    }
}
