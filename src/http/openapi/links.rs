//! The OpenAPI `links` from a created room to everything that takes its access code: the
//! answer of `POST /api/pair-room` names, for each operation with a `{code}` path parameter
//! (or the `access_code` query of `GET /api/pair-room/exists`), how to fill it from the
//! answer's `accessCode`. A generic client can so chain a creation to every room operation.

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa::Modify;

/// The path that creates rooms.
pub const CREATE_PATH: &str = "/api/pair-room";
/// The status of a creation's answer.
pub const CREATED_STATUS: &str = "201";
/// Where a creation's answer holds the access code (an OpenAPI runtime expression).
pub const ACCESS_CODE: &str = "$response.body#/accessCode";

/// The parameters an access code fills: `(name, where)`.
const CODE_PARAMETERS: [(&str, ParameterIn); 2] = [
    ("code", ParameterIn::Path),
    ("access_code", ParameterIn::Query),
];

/// Every operation of a path item.
fn operations(item: &PathItem) -> impl Iterator<Item = &Operation> {
    [
        &item.get,
        &item.put,
        &item.post,
        &item.delete,
        &item.options,
        &item.head,
        &item.patch,
        &item.trace,
        &item.query,
    ]
    .into_iter()
    .flatten()
}

/// The name of the parameter of `operation` that takes an access code, if any.
fn code_parameter(operation: &Operation) -> Option<&'static str> {
    operation.parameters.iter().flatten().find_map(|p| match p {
        RefOr::T(p) => CODE_PARAMETERS
            .iter()
            .find(|(name, place)| p.name == *name && p.parameter_in == *place)
            .map(|(name, _)| *name),
        RefOr::Ref(_) => None,
    })
}

/// Adds the links to the creation's answer.
pub struct AccessCodeLinks;

impl Modify for AccessCodeLinks {
    fn modify(&self, openapi: &mut OpenApi) {
        let targets: Vec<(String, &'static str)> = openapi
            .paths
            .paths
            .values()
            .flat_map(operations)
            .filter_map(|op| Some((op.operation_id.clone()?, code_parameter(op)?)))
            .collect();
        let created = openapi
            .paths
            .paths
            .get_mut(CREATE_PATH)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.responses.responses.get_mut(CREATED_STATUS));
        let Some(RefOr::T(created)) = created else {
            return;
        };
        for (operation_id, parameter) in targets {
            let link = LinkBuilder::new()
                .operation_id(operation_id.clone())
                .parameter(parameter, ACCESS_CODE)
                .description(format!("`{parameter}` is the new room's `accessCode`"))
                .build();
            created.links.insert(operation_id, link.into());
        }
    }
}
