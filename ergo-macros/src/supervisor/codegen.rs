//! Emits a checked `supervisor!`: the supervisor struct (its spec built on every
//! `new()`), its `Actor` impl (the runtime's supervisor behaviour), and its typed
//! handle with one accessor per child.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::{Child, Shutdown, Strategy, Supervisor};

/// Everything `supervisor!` emits.
pub fn expand(m: &Supervisor) -> TokenStream {
    let krate = quote!(::ergo);
    let sup = quote!(#krate::supervisor);
    let (attrs, vis, name) = (&m.attrs, &m.vis, &m.name);
    let handle = format_ident!("{}Handle", name);
    let strategy = format_ident!("{}", m.strategy.variant());
    let sofo = m.strategy == Strategy::SimpleOneForOne;

    let intensity = m.intensity.as_ref().map(|i| quote!(#i));
    let intensity = match (intensity, m.period_ms) {
        (None, None) => quote!(),
        (i, p) => {
            let i = i.unwrap_or_else(|| quote!(#sup::DEFAULT_INTENSITY));
            let p = match p {
                Some(ms) => quote!(::core::time::Duration::from_millis(#ms)),
                None => quote!(#sup::DEFAULT_PERIOD),
            };
            quote!(.intensity(#i, #p))
        }
    };
    let auto = m.auto_shutdown.map(|a| {
        let a = format_ident!("{}", a);
        quote!(.auto_shutdown(#sup::AutoShutdown::#a))
    });
    let specs = m.children.iter().map(|c| child_spec(c, sofo));
    let accessors = m.children.iter().map(|c| accessor(c, sofo));
    let doc = format!(
        "A supervisor declared with `supervisor!` ({}). Spawn `{name}::new()`; its \
         `ActorRef` has the supervisor operations and one typed accessor per child \
         (through `{handle}`).",
        m.strategy.variant()
    );
    let handle_doc = format!("The typed handle of `{name}`: one accessor per child.");

    quote! {
        #(#attrs)*
        #[doc = ""]
        #[doc = #doc]
        #vis struct #name {
            state: #sup::SupervisorState,
        }

        #[allow(dead_code)]
        impl #name {
            /// A supervisor about to start, with its declared spec.
            pub fn new() -> Self {
                #name { state: #sup::SupervisorState::new(Self::spec()) }
            }

            /// The declared spec (strategy, intensity, children); every call builds
            /// the child factories anew.
            pub fn spec() -> #sup::SupervisorSpec {
                #sup::SupervisorSpec::new(#sup::Strategy::#strategy)
                    #intensity
                    #auto
                    #(.child(#specs))*
            }
        }

        impl ::core::default::Default for #name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl #sup::SupervisorActor for #name {
            fn supervisor_state(&mut self) -> &mut #sup::SupervisorState {
                &mut self.state
            }
        }

        impl #krate::Handles<#sup::SupervisorMessage> for #name {
            fn into_message(msg: #sup::SupervisorMessage) -> #sup::SupervisorMessage {
                msg
            }
        }

        impl #krate::Actor for #name {
            type Message = #sup::SupervisorMessage;
            type Call = ::core::convert::Infallible;
            type Reply = ();
            type Args = ();

            async fn init(
                &mut self,
                ctx: &mut #krate::Context<Self>,
                _: (),
            ) -> ::core::result::Result<(), #krate::Reason> {
                #sup::behavior::init(self, ctx).await
            }

            fn handle_message(
                &mut self,
                ctx: &mut #krate::Context<Self>,
                msg: #sup::SupervisorMessage,
            ) -> #krate::Step<Self> {
                #sup::behavior::handle_message(self, ctx, msg)
            }

            fn handle_call(
                &mut self,
                _: &mut #krate::Context<Self>,
                req: ::core::convert::Infallible,
                _: #krate::ReplyTo<()>,
            ) -> #krate::Step<Self> {
                match req {}
            }

            fn handle_exit(&mut self, ctx: &mut #krate::Context<Self>, exit: #krate::Exit) -> #krate::Step<Self> {
                #sup::behavior::handle_exit(self, ctx, exit)
            }

            fn terminate(&mut self, ctx: &mut #krate::Context<Self>, reason: &#krate::Reason) {
                #sup::behavior::terminate(self, ctx, reason)
            }
        }

        #[doc = #handle_doc]
        #[repr(transparent)]
        #vis struct #handle(#krate::ActorRef<#name>);

        // SAFETY: the handle is `#[repr(transparent)]` over `ActorRef<Self>`.
        unsafe impl #krate::HasHandle for #name {
            type Handle = #handle;
        }

        #[allow(dead_code)]
        impl #handle {
            #(#accessors)*
        }
    }
}

fn child_spec(c: &Child, sofo: bool) -> TokenStream {
    let sup = quote!(::ergo::supervisor);
    let ty = &c.ty;
    let id = c.name.to_string();
    let value = match &c.value {
        Some(v) => quote!(#v),
        None => quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default()),
    };
    let mut spec = if sofo {
        quote_spanned! {ty.span()=>
            #sup::ChildSpec::with_args::<#ty, _>(#id, || -> #ty { #value })
        }
    } else {
        // Without `#[args(..)]`, the init must take none: the error of a child whose
        // init takes some points at the child and says to give `#[args(..)]`.
        let args = match &c.args {
            Some(a) => quote!(#a),
            None => quote_spanned! {ty.span()=>
                <<#ty as ::ergo::Actor>::Args as ::ergo::NoInitArgs>::none()
            },
        };
        quote_spanned! {ty.span()=>
            #sup::ChildSpec::new::<#ty, _>(#id, || -> (#ty, <#ty as ::ergo::Actor>::Args) { (#value, #args) }).registered()
        }
    };
    if let Some(r) = c.restart {
        let r = format_ident!("{}", r);
        spec = quote!(#spec.restart(#sup::Restart::#r));
    }
    if c.significant {
        spec = quote!(#spec.significant(true));
    }
    if let Some(s) = &c.shutdown {
        let s = match s {
            Shutdown::BrutalKill => quote!(#sup::Shutdown::BrutalKill),
            Shutdown::Infinity => quote!(#sup::Shutdown::Infinity),
            Shutdown::Millis(ms) => {
                quote!(#sup::Shutdown::Timeout(::core::time::Duration::from_millis(#ms)))
            }
        };
        spec = quote!(#spec.shutdown(#s));
    }
    spec
}

fn accessor(c: &Child, sofo: bool) -> TokenStream {
    let sup = quote!(::ergo::supervisor);
    let (name, ty, docs) = (&c.name, &c.ty, &c.docs);
    let id = name.to_string();
    if sofo {
        let start = format_ident!("start_{}", name);
        let doc =
            format!("Starts an instance of `{id}` with these init arguments; restarts reuse them.");
        quote! {
            #(#docs)*
            #[doc = ""]
            #[doc = #doc]
            pub async fn #start(
                &self,
                args: <#ty as ::ergo::Actor>::Args,
            ) -> ::core::result::Result<::ergo::ActorRef<#ty>, #sup::SupervisorError> {
                self.0.supervisor().start_child_with::<#ty>(args).await
            }
        }
    } else {
        let doc = format!(
            "The child `{id}`, registered as `{id}`: a typed handle that follows its restarts \
             (`.get()?` gives the current `ActorRef`)."
        );
        let ret = quote_spanned!(ty.span()=> #sup::ChildRef<#ty>);
        quote! {
            #(#docs)*
            #[doc = ""]
            #[doc = #doc]
            pub fn #name(&self) -> #ret {
                #sup::ChildRef::new(self.0.node(), #id)
            }
        }
    }
}
