using Microsoft.AspNetCore.Http;
using Sluice.Jobs;

namespace Sluice.Service.Api;

/// <summary>One problem with a submitted spec, as the API returns it: the CLI's <see cref="SpecError"/> as JSON.</summary>
/// <param name="Field">The field's path in the spec: <c>stages[1].batch_size</c>.</param>
/// <param name="Value">The value given; null when missing.</param>
/// <param name="Accepted">What would be accepted.</param>
/// <param name="Where">Where it was written: <c>spec line 6</c>; null when unknown.</param>
internal sealed record ProblemField(string Field, string? Value, string Accepted, string? Where);

/// <summary>
/// Errors as RFC 7807 problem details (<c>application/problem+json</c>): <c>type</c>, <c>title</c>, <c>status</c>,
/// <c>detail</c>, and for a spec that is not valid, <c>errors</c>: a list of <see cref="ProblemField"/>.
/// </summary>
internal static class Problems
{
    public static IResult InvalidSpec(SpecException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "the job spec is not valid", detail: error.Message,
            type: "https://github.com/sluice/sluice/blob/main/docs/service.md#errors",
            extensions: new Dictionary<string, object?> { ["errors"] = Fields(error) });
    }

    public static IReadOnlyList<ProblemField> Fields(SpecException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return [.. error.Errors.Select(e => new ProblemField(e.Field, e.Value, e.Accepted, e.At?.ToString()))];
    }

    public static IResult NotFound(string id) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "no such job", detail: $"no job has the id '{id}'; GET /api/jobs lists them");

    public static IResult Conflict(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "not possible in the job's state", detail: detail);

    public static IResult BadRequest(string title, string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: title, detail: detail);

    public static IResult Failed(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "the job cannot be run", detail: detail);
}
