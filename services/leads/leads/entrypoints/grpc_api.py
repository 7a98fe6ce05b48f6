"""The leads gRPC front: translate, call the service layer, translate back."""

from __future__ import annotations

from datetime import UTC

import grpc

from leads import bootstrap
from leads.adapters import protomap
from leads.service_layer import accounts, qualification, services
from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
from shangji_kit import auth, names
from shangji_kit.errors import InvalidArgument
from shangji_kit.rpc import server
from shangji_kit.settings import Settings


class LeadsApi(leads_pb2_grpc.LeadsServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def CreateLead(self, request, context):
        lead = request.lead
        cmd = services.CreateLead(company=lead.company, contact_name=lead.contact_name, phone=lead.phone,
                                  email=lead.email, region=lead.region, source=lead.source, owner=lead.owner,
                                  request_id=request.request_id, industry=lead.industry, to_pool=request.to_pool,
                                  contact_title=lead.contact_title, company_size=lead.company_size, notes=lead.notes,
                                  campaign=lead.campaign, flags=tuple(lead.flags))
        return protomap.captured_to_proto(services.create_lead(cmd, auth.principal().user_id, self.uow()))

    def GetLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_to_proto(services.get_lead(lead_id, auth.principal().user_id, self.uow()))

    def ListLeads(self, request, context):
        page = services.list_leads(auth.principal().user_id, request.page_size, request.page_token, self.uow(),
                                   in_pool=request.in_pool)
        return protomap.page_to_proto(page)

    def ConvertLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        cmd = services.ConvertLead(lead_id=lead_id, etag=request.etag, opportunity_title=request.opportunity_title,
                                   customer=request.customer, without_opportunity=request.without_opportunity,
                                   force=request.force)
        lead = services.convert_lead(cmd, auth.principal().user_id, self.uow())
        return protomap.lead_to_proto(lead)

    def ClaimLeads(self, request, context):
        lead_ids = services.parse_lead_names(list(request.names))
        leads = services.claim_leads(lead_ids, auth.principal().user_id, self.uow())
        return protomap.claim_response(leads)

    def ReturnLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_to_proto(services.return_lead(lead_id, request.reason, auth.principal().user_id,
                                                           self.uow()))

    def AssignLeads(self, request, context):
        lead_ids = services.parse_lead_names(list(request.names))
        leads = services.assign_leads(lead_ids, request.assignee, auth.principal().user_id, self.uow())
        return protomap.assign_response(leads)

    def AutoAssignLead(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_to_proto(services.auto_assign_lead(lead_id, auth.principal().user_id, self.uow()))

    def AddFollowUp(self, request, context):
        lead_id = names.parse(request.name, "leads")
        follow_up = services.add_follow_up(lead_id, protomap.follow_up_kind(request.kind), request.note,
                                           auth.principal().user_id, self.uow())
        return protomap.follow_up_to_proto(follow_up)

    def ImportLeads(self, request_iterator, context):
        header = None
        rows: list[tuple[int, list[str]]] = []
        for request in request_iterator:
            part = request.WhichOneof("part")
            if header is None:
                if part != "header":
                    raise InvalidArgument.field("header", "the first message must be the header")
                header = protomap.import_header(request.header)
            elif part == "header":
                raise InvalidArgument.field("header", "only the first message may be a header")
            elif part == "rows":
                rows.extend(protomap.import_rows(request.rows))
        if header is None:
            raise InvalidArgument.field("header", "required: the stream was empty")
        cmd = services.ImportLeads(rows=rows, **header)
        return protomap.import_report_to_proto(services.import_leads(cmd, auth.principal().user_id, self.uow()))


    def UpdateLead(self, request, context):
        lead_id = names.parse(request.lead.name, "leads", "lead.name")
        cmd = qualification.UpdateLead(lead_id=lead_id, update_mask=tuple(request.update_mask.paths),
                                       values=protomap.lead_values(request.lead), etag=request.etag)
        return protomap.lead_to_proto(qualification.update_lead(cmd, auth.principal().user_id, self.uow()))

    def RecordLeadBehaviour(self, request, context):
        lead_id = names.parse(request.name, "leads")
        occur_time = request.occur_time.ToDatetime(tzinfo=UTC) if request.HasField("occur_time") else None
        cmd = qualification.RecordBehaviour(lead_id=lead_id, kind=request.type, occur_time=occur_time,
                                            request_id=request.request_id)
        return protomap.lead_to_proto(qualification.record_behaviour(cmd, auth.principal().user_id, self.uow()))

    def GetLeadScore(self, request, context):
        lead_id = names.parse(request.name, "leads")
        return protomap.lead_score_to_proto(qualification.get_lead_score(lead_id, auth.principal().user_id,
                                                                         self.uow()))

    def GetLeadSettings(self, request, context):
        return protomap.settings_to_proto(qualification.get_settings(auth.principal().user_id, self.uow()))

    def UpdateLeadSettings(self, request, context):
        pool, scoring = protomap.settings_from_proto(request.settings)
        settings = qualification.update_settings(qualification.Settings(pool, scoring, 0),
                                                 tuple(request.update_mask.paths), request.etag,
                                                 auth.principal().user_id, self.uow())
        return protomap.settings_to_proto(settings)

    def SetRepAway(self, request, context):
        user_id, away = qualification.set_rep_away(request.user, request.away, auth.principal().user_id, self.uow())
        return leads_pb2.RepStatus(user=names.format("users", user_id), away=away)

    def CreateCustomer(self, request, context):
        cmd = accounts.CreateCustomer(values=protomap.customer_values(request.customer), owner=request.customer.owner,
                                      request_id=request.request_id)
        return protomap.customer_view_to_proto(accounts.create_customer(cmd, auth.principal().user_id, self.uow()))

    def GetCustomer(self, request, context):
        customer_id = names.parse(request.name, "customers")
        return protomap.customer_view_to_proto(accounts.get_customer(customer_id, auth.principal().user_id,
                                                                     self.uow()))

    def ListCustomers(self, request, context):
        return protomap.customers_page(accounts.list_customers(auth.principal().user_id, request.page_size,
                                                               request.page_token, self.uow()))

    def UpdateCustomer(self, request, context):
        customer_id = names.parse(request.customer.name, "customers", "customer.name")
        cmd = accounts.UpdateCustomer(customer_id=customer_id, values=protomap.customer_values(request.customer),
                                      update_mask=tuple(request.update_mask.paths), etag=request.etag)
        return protomap.customer_view_to_proto(accounts.update_customer(cmd, auth.principal().user_id, self.uow()))

    def CreateContact(self, request, context):
        customer_id = names.parse(request.parent, "customers", "parent")
        cmd = accounts.CreateContact(customer_id=customer_id, values=protomap.contact_values(request.contact),
                                     request_id=request.request_id)
        return protomap.contact_to_proto(accounts.create_contact(cmd, auth.principal().user_id, self.uow()))

    def ListContacts(self, request, context):
        customer_id = names.parse(request.parent, "customers", "parent")
        return protomap.contacts_page(accounts.list_contacts(customer_id, auth.principal().user_id,
                                                             request.page_size, request.page_token, self.uow()))

    def UpdateContact(self, request, context):
        contact_id = names.parse(request.contact.name, "contacts", "contact.name")
        cmd = accounts.UpdateContact(contact_id=contact_id, values=protomap.contact_values(request.contact),
                                     update_mask=tuple(request.update_mask.paths), etag=request.etag)
        return protomap.contact_to_proto(accounts.update_contact(cmd, auth.principal().user_id, self.uow()))

    def CreateCampaign(self, request, context):
        campaign = qualification.create_campaign(protomap.campaign_values(request.campaign), request.request_id,
                                                 auth.principal().user_id, self.uow())
        return protomap.campaign_to_proto(campaign)

    def GetCampaign(self, request, context):
        campaign_id = names.parse(request.name, "campaigns")
        return protomap.campaign_to_proto(qualification.get_campaign(campaign_id, auth.principal().user_id,
                                                                     self.uow()))

    def ListCampaigns(self, request, context):
        page, token = qualification.list_campaigns(auth.principal().user_id, request.page_size, request.page_token,
                                                   self.uow())
        return leads_pb2.ListCampaignsResponse(campaigns=[protomap.campaign_to_proto(c) for c in page],
                                               next_page_token=token)

    def UpdateCampaign(self, request, context):
        campaign_id = names.parse(request.campaign.name, "campaigns", "campaign.name")
        campaign = qualification.update_campaign(campaign_id, protomap.campaign_values(request.campaign),
                                                 tuple(request.update_mask.paths), request.etag,
                                                 auth.principal().user_id, self.uow())
        return protomap.campaign_to_proto(campaign)

    def GetSourceReport(self, request, context):
        return protomap.report_to_proto(*qualification.source_report(auth.principal().user_id, self.uow()))


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    leads_pb2_grpc.add_LeadsServiceServicer_to_server(LeadsApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.leads.v1.LeadsService"]


if __name__ == "__main__":
    server.main("leads", register)
