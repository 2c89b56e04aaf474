//! Web handlers inside `#[actor]`: methods marked `#[get("/path/:id")]`, `#[post(..)]`,
//! `#[put(..)]`, `#[patch(..)]` or `#[delete(..)]`. This pass runs before the actor is
//! read: it strips those attributes, checks each handler's path and arguments, and adds
//! one call handler, `web_request`, that matches a request's method and path and calls
//! the right method; the actor then implements `WebWorker` through it.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, Pat, Type};

use crate::ctxt::Ctxt;

/// The HTTP methods a web attribute can name.
pub const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The name of the generated call handler (and of its enum variant, `WebRequest`).
pub const HANDLER: &str = "web_request";

struct Route {
    method: String,
    pattern: String,
    func: ImplItemFn,
}

fn web_method(attr: &syn::Attribute) -> Option<String> {
    let last = attr.path().segments.last()?.ident.to_string();
    METHODS.contains(&last.as_str()).then_some(last)
}

/// Strips the web attributes of `item`'s methods and adds the generated `web_request`
/// call handler. True if the actor has web handlers.
pub fn expand(cx: &Ctxt, item: &mut ItemImpl, krate: &syn::Path) -> bool {
    let mut routes = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(func) = impl_item else {
            continue;
        };
        let mut found: Option<(String, String)> = None;
        let mut kept = Vec::new();
        for attr in std::mem::take(&mut func.attrs) {
            let Some(method) = web_method(&attr) else {
                kept.push(attr);
                continue;
            };
            let pattern = match attr.parse_args::<syn::LitStr>() {
                Ok(lit) => {
                    let pattern = lit.value();
                    if !pattern.starts_with('/') {
                        cx.error_spanned_by(
                            &lit,
                            format!("a web path starts with `/`: `#[{method}(\"/{pattern}\")]`"),
                        );
                    }
                    pattern
                }
                Err(_) => {
                    cx.error_spanned_by(
                        &attr,
                        format!(
                            "`#[{method}]` takes the path as a string: `#[{method}(\"/balance/:id\")]`"
                        ),
                    );
                    continue;
                }
            };
            if found.is_some() {
                cx.error_spanned_by(
                    &attr,
                    "a method has one web attribute (write a method for each route)",
                );
                continue;
            }
            found = Some((method, pattern));
        }
        func.attrs = kept;
        if let Some((method, pattern)) = found {
            routes.push(Route {
                method,
                pattern,
                func: func.clone(),
            });
        }
    }
    if routes.is_empty() {
        return false;
    }
    let mut seen = HashSet::new();
    for route in &routes {
        if !seen.insert((route.method.clone(), route.pattern.clone())) {
            cx.error_spanned_by(
                &route.func.sig.ident,
                format!(
                    "another handler already answers `{} {}`",
                    route.method.to_uppercase(),
                    route.pattern
                ),
            );
        }
    }
    let is_async = routes.iter().any(|r| r.func.sig.asyncness.is_some());
    let arms: Vec<TokenStream> = routes.iter().map(|r| arm(cx, r, krate)).collect();
    let asyncness = is_async.then(|| quote!(async));
    let name = format_ident!("{}", HANDLER);
    let dispatcher: ImplItemFn = syn::parse_quote! {
        /// Answers an HTTP request with the web handler its method and path match.
        #[handle_call(local)]
        #[allow(unused_variables, unreachable_code, clippy::needless_return)]
        #asyncness fn #name(
            &mut self,
            __ergo_ctx: &mut #krate::Context<Self>,
            __ergo_request: #krate::web::WebRequest,
        ) -> #krate::web::WebResponse {
            let __ergo_path = ::std::string::String::from(__ergo_request.uri.path());
            let mut __ergo_allowed = false;
            #(#arms)*
            if __ergo_allowed {
                #krate::web::WebResponse::text(
                    #krate::web::StatusCode::METHOD_NOT_ALLOWED,
                    "method not allowed",
                )
            } else {
                #krate::web::WebResponse::not_found()
            }
        }
    };
    item.items.push(ImplItem::Fn(dispatcher));
    true
}

fn is_named(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
        _ => false,
    }
}

/// The code that answers one route.
fn arm(cx: &Ctxt, route: &Route, krate: &syn::Path) -> TokenStream {
    let errors = cx.len();
    let arm = arm_code(cx, route, krate);
    // A route with errors gets no code: only its errors are reported.
    if cx.len() > errors {
        TokenStream::new()
    } else {
        arm
    }
}

fn arm_code(cx: &Ctxt, route: &Route, krate: &syn::Path) -> TokenStream {
    let pattern = &route.pattern;
    let names: Vec<&str> = pattern
        .split('/')
        .filter_map(|s| s.strip_prefix(':'))
        .collect();
    let sig = &route.func.sig;
    if sig.receiver().is_none() {
        cx.error_spanned_by(
            &sig.ident,
            "a web handler is a method: it takes `&mut self` (or `&self`)",
        );
    }
    let mut bound = HashSet::new();
    let mut lets = Vec::new();
    let mut args = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(arg) = input else { continue };
        if let Type::Reference(r) = &*arg.ty {
            if is_named(&r.elem, "Context") && r.mutability.is_some() {
                args.push(quote!(__ergo_ctx));
                continue;
            }
            if is_named(&r.elem, "WebRequest") && r.mutability.is_none() {
                args.push(quote!(&__ergo_request));
                continue;
            }
        }
        let Pat::Ident(ident) = &*arg.pat else {
            cx.error_spanned_by(
                &arg.pat,
                "a web handler's argument is a plain name: `id: u64`",
            );
            continue;
        };
        let name = ident.ident.to_string();
        let name = name.trim_start_matches("r#");
        if !names.contains(&name) {
            cx.error_spanned_by(
                &arg.pat,
                format!(
                    "`{name}` is not a parameter of the path \"{pattern}\": a web handler takes \
                     the path's `:name` segments by name, and optionally \
                     `req: &WebRequest` and `ctx: &mut Context<Self>`"
                ),
            );
            continue;
        }
        bound.insert(name.to_string());
        let var = format_ident!("__ergo_arg_{}", name);
        let ty = &arg.ty;
        lets.push(quote_spanned! {arg.ty.span()=>
            let #var: #ty = match __ergo_params.parse::<#ty>(#name) {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(response) => return response,
            };
        });
        args.push(quote!(#var));
    }
    for name in &names {
        if !bound.contains(*name) {
            cx.error_spanned_by(
                &sig.ident,
                format!(
                    "the path \"{pattern}\" has a parameter `:{name}` that `{}` does not take: add `{name}: T` (any `T: FromStr`)",
                    sig.ident
                ),
            );
        }
    }
    let method = format_ident!("{}", route.method.to_uppercase());
    // A GET handler answers HEAD too (the server sends the head without the body).
    let matches = if route.method == "get" {
        quote! {
            (__ergo_request.method == #krate::web::Method::GET
                || __ergo_request.method == #krate::web::Method::HEAD)
        }
    } else {
        quote!((__ergo_request.method == #krate::web::Method::#method))
    };
    let func = &sig.ident;
    let call = if sig.asyncness.is_some() {
        quote!(self.#func(#(#args),*).await)
    } else {
        quote!(self.#func(#(#args),*))
    };
    let ret = quote_spanned! {sig.output.span()=>
        #krate::web::IntoWebResponse::into_web_response(__ergo_out)
    };
    quote! {
        if let ::core::option::Option::Some(__ergo_params) =
            #krate::web::route::match_path(#pattern, &__ergo_path)
        {
            if #matches {
                #(#lets)*
                let __ergo_out = #call;
                return #ret;
            }
            __ergo_allowed = true;
        }
    }
}

/// The `WebWorker` impl of an actor with web handlers.
pub fn worker_impl(
    krate: &syn::Path,
    self_ty: &Type,
    call: &syn::Ident,
    reply: &syn::Ident,
) -> TokenStream {
    quote! {
        impl #krate::web::WebWorker for #self_ty {
            fn web_call(request: #krate::web::WebRequest) -> <Self as #krate::Actor>::Call {
                #call::WebRequest(request)
            }
            fn web_reply(
                reply: <Self as #krate::Actor>::Reply,
            ) -> ::core::option::Option<#krate::web::WebResponse> {
                #[allow(unreachable_patterns)]
                match reply {
                    #reply::WebRequest(response) => ::core::option::Option::Some(response),
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}
