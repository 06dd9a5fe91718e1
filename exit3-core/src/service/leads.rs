//! The lead operations: `leads/` and `leads/{id}/`.

use super::{Exit3, RequestContext};
use crate::{
    access::{Operation, Scope},
    domain::{HistoryEntry, HistoryFilter, HistoryObject, Lead, LeadId, LeadPatch, NewLead},
    error::Error,
    events::LeadEffects,
    input::Payload,
    query::{HistoryQuery, LeadQuery, Page, PageRequest, QueryParams},
    spam::Quarantine,
    store::{Admitted, StoreError},
};

impl Exit3 {
    /// `GET leads/`: a page of leads.
    pub async fn list_leads(
        &self,
        ctx: &RequestContext,
        params: &QueryParams,
    ) -> Result<Page<Lead>, Error> {
        self.admit(ctx, Operation::ListLeads).await?;
        let query = LeadQuery::from_params(params, self.policy())?;
        let page = self
            .inner
            .store
            .list_leads(&query.filter, query.ordering, query.page)
            .await?;
        if page.is_past_end() {
            return Err(Error::InvalidPage);
        }
        Ok(page)
    }

    /// `POST leads/`: creates a lead from the contact form.
    pub async fn create_lead(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<Lead, Error> {
        Ok(self.create_lead_scoped(ctx, payload).await?.0)
    }

    /// [`create_lead`](Self::create_lead), with the caller's scope: what a frontend
    /// needs to answer the public key without the internal fields (admin.md: `notes`
    /// is never in the public answer).
    pub async fn create_lead_scoped(
        &self,
        ctx: &RequestContext,
        payload: &Payload,
    ) -> Result<(Lead, Scope), Error> {
        // The order a caller sees is admit, parse, judge, insert: a refused request is
        // told so whatever its form, and an invalid one is counted by the throttle. The
        // form is parsed and judged before the throttle decides only because both are
        // pure; when the judging needs the store (a form token to spend), the steps go
        // one after the other.
        let (caller, hits) = self.admission(ctx, Operation::CreateLead).await?;
        let parsed = NewLead::parse(payload, self.policy(), caller.scope(), &ctx.origin);
        let now = self.now();
        let (reasons, token) = match caller.scope() {
            Scope::Admin => (Vec::new(), None),
            Scope::Public => self.inner.spam.judge(payload, self.secrets(), now),
        };
        let lead = match parsed {
            // The usual create: the throttle's decision and the lead in one store call.
            Ok(lead) if token.is_none() && !hits.is_empty() => {
                let quarantine = self.settle(reasons, None, now).await?;
                let (lead, effects) = self.accepting(lead, quarantine);
                let admitted = self
                    .inner
                    .store
                    .insert_lead_admitted(&hits, &lead, &effects, &caller.actor(), now)
                    .await?;
                let stored = match admitted {
                    Admitted::Written(stored) => stored,
                    Admitted::Refused(decision) => {
                        self.observed(Self::throttled(&hits, decision))?;
                        return Err(StoreError::other("a refusal that accepted").into());
                    }
                };
                return Ok((Self::as_seen_by(caller.scope(), stored), caller.scope()));
            }
            parsed => {
                if !hits.is_empty() {
                    self.observed(self.decide(&hits).await)?;
                }
                parsed?
            }
        };
        let quarantine = self.settle(reasons, token, now).await?;
        let (lead, effects) = self.accepting(lead, quarantine);
        let stored = self
            .inner
            .store
            .insert_lead(&lead, &effects, &caller.actor(), now)
            .await?;
        Ok((Self::as_seen_by(caller.scope(), stored), caller.scope()))
    }

    /// `lead` with its verdict, and what storing it sets off: nothing for a quarantined
    /// lead.
    fn accepting(&self, lead: NewLead, quarantine: Option<Quarantine>) -> (NewLead, LeadEffects) {
        let effects = if quarantine.is_some() {
            LeadEffects::silent()
        } else {
            self.lead_effects()
        };
        (lead.with_quarantine(quarantine), effects)
    }

    /// What accepting a lead sets off.
    fn lead_effects(&self) -> LeadEffects {
        LeadEffects {
            notify: self.inner.notify.clone(),
            announce: true,
        }
    }

    /// A lead as `scope` is answered it: the public key never learns of a quarantine.
    fn as_seen_by(scope: Scope, mut lead: Lead) -> Lead {
        if scope == Scope::Public {
            lead.quarantine = None;
        }
        lead
    }

    /// `POST leads/{id}/release/`: clears the quarantine and only then sends what
    /// acceptance would have (the staff mail, `lead.created`).
    pub async fn release_lead(&self, ctx: &RequestContext, id: i64) -> Result<Lead, Error> {
        let caller = self.admit(ctx, Operation::ReleaseLead).await?;
        let id = LeadId::new(id).ok_or(Error::NotFound)?;
        self.inner
            .store
            .release_lead(id, &self.lead_effects(), &caller.actor(), self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// `GET leads/{id}/`.
    pub async fn get_lead(&self, ctx: &RequestContext, id: i64) -> Result<Lead, Error> {
        self.admit(ctx, Operation::GetLead).await?;
        let id = LeadId::new(id).ok_or(Error::NotFound)?;
        self.inner.store.get_lead(id).await?.ok_or(Error::NotFound)
    }

    /// `PATCH leads/{id}/`: changes the given fields.
    pub async fn patch_lead(
        &self,
        ctx: &RequestContext,
        id: i64,
        payload: &Payload,
    ) -> Result<Lead, Error> {
        self.update_lead(ctx, id, payload, true).await
    }

    /// `PUT leads/{id}/`: full update; `full_name` and `position` required.
    pub async fn put_lead(
        &self,
        ctx: &RequestContext,
        id: i64,
        payload: &Payload,
    ) -> Result<Lead, Error> {
        self.update_lead(ctx, id, payload, false).await
    }

    async fn update_lead(
        &self,
        ctx: &RequestContext,
        id: i64,
        payload: &Payload,
        partial: bool,
    ) -> Result<Lead, Error> {
        let caller = self.admit(ctx, Operation::UpdateLead).await?;
        let id = LeadId::new(id).ok_or(Error::NotFound)?;
        // DRF looks the object up before it validates the body: an unknown id is a 404
        // whatever the body holds.
        if self.inner.store.get_lead(id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let patch = if partial {
            LeadPatch::partial(payload, self.policy())?
        } else {
            LeadPatch::full(payload, self.policy())?
        };
        self.inner
            .store
            .update_lead(id, &patch, &caller.actor(), self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// How many leads were accepted on each of the last `days` UTC days, today last (the
    /// staff dashboard's chart); at most 366 days.
    pub async fn leads_per_day(
        &self,
        ctx: &RequestContext,
        days: u32,
    ) -> Result<Vec<(time::Date, u64)>, Error> {
        self.admit(ctx, Operation::ListLeads).await?;
        let days = days.clamp(1, 366);
        let today = self.now().date();
        let first = today - time::Duration::days(i64::from(days) - 1);
        let counts = self
            .inner
            .store
            .count_leads_by_day(first.midnight().assume_utc(), days)
            .await?;
        Ok((0..)
            .map(|i| first + time::Duration::days(i))
            .zip(counts)
            .collect())
    }

    /// `GET leads/{id}/history/`: the lead's history, newest first. A lead that is gone
    /// keeps its history (its `deleted` entry first); an id that never had a lead is a
    /// 404, and a lead stored before the history existed has an empty one.
    pub async fn lead_history(
        &self,
        ctx: &RequestContext,
        id: i64,
        params: &QueryParams,
    ) -> Result<Page<HistoryEntry>, Error> {
        self.admit(ctx, Operation::ReadHistory).await?;
        let id = LeadId::new(id).ok_or(Error::NotFound)?;
        let page = PageRequest::from_params(params.get("page"), params.get("page_size"))?;
        let page = self
            .inner
            .store
            .list_history(&HistoryFilter::of(HistoryObject::Lead(id)), page)
            .await?;
        if page.count == 0 && self.inner.store.get_lead(id).await?.is_none() {
            return Err(Error::NotFound);
        }
        if page.is_past_end() {
            return Err(Error::InvalidPage);
        }
        Ok(page)
    }

    /// Every change (the staff site's history page), newest first, filtered by actor
    /// and object.
    pub async fn list_history(
        &self,
        ctx: &RequestContext,
        params: &QueryParams,
    ) -> Result<Page<HistoryEntry>, Error> {
        self.admit(ctx, Operation::ReadHistory).await?;
        let query = HistoryQuery::from_params(params)?;
        let page = self
            .inner
            .store
            .list_history(&query.filter, query.page)
            .await?;
        if page.is_past_end() {
            return Err(Error::InvalidPage);
        }
        Ok(page)
    }

    /// `DELETE leads/{id}/`.
    pub async fn delete_lead(&self, ctx: &RequestContext, id: i64) -> Result<(), Error> {
        let caller = self.admit(ctx, Operation::DeleteLead).await?;
        let id = LeadId::new(id).ok_or(Error::NotFound)?;
        if self
            .inner
            .store
            .delete_lead(id, &caller.actor(), self.now())
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}
